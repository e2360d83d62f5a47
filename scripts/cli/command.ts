// Operator commands: `rollback|promote|pause|resume <route> --reason "..."` and
// `step <route> <n> --reason "..."`, each one POST <base>/api/routes/:id/<command>.
// `n` counts from 1, as the API's `step` field, its error messages, the audit log and
// `status` ("2 of 5") all count. The reply says what is served after the command.
// A reason is mandatory (it goes to the audit log). A refused transition (409, e.g.
// promote after a rollback) prints the API's message and exits 1.
import { parseArgs } from "node:util";
import { ADMIN_COMMANDS, MAX_REASON_LENGTH, type AdminCommand, type CommandRequest, type CommandResponse } from "../../src/core/admin-protocol.js";
import { RouteSchema } from "../../src/core/config/schema.js";
import { ADMIN_HELP, EXIT_OK, UsageError, adminCall, adminOptions, adminTarget, helpOption, helpText, parse, printJson, type CliIo, type Command } from "./common.js";
import { stepOf } from "./status-view.js";

type Verb = AdminCommand;

const SUMMARIES: Record<Verb, string> = {
  rollback: "Send all of a route's traffic to stable now; the release stays rolled back until resumed or replaced.",
  promote: "Send all of a route's traffic to the canary and end the rollout.",
  pause: "Freeze a route's rollout at its current weight (the engine may still roll back).",
  resume: "Continue a paused or rolled-back rollout.",
  step: "Jump a steps-mode rollout to step <n> (counted from 1, as `status` shows it: steps.weights[n - 1]).",
};

function makeCommand(verb: Verb): Command {
  const isStep = verb === "step";
  const usage = `${verb} <route> ${isStep ? "<n> " : ""}--reason "<why>" [--json]`;
  const summary = SUMMARIES[verb];
  return {
    name: verb,
    summary,
    usage,
    async run(args: string[], io: CliIo): Promise<number> {
      const { values, positionals, help } = parse(
        () => parseArgs({ args, options: { ...helpOption, ...adminOptions, reason: { type: "string", short: "m" }, json: { type: "boolean" } }, allowPositionals: true }),
        { min: isStep ? 2 : 1, max: isStep ? 2 : 1, names: isStep ? "<route> <n>" : "<route>" },
      );
      if (help) {
        io.out(helpText(usage, summary, `Options:\n  --reason <text>  why (required, at most ${MAX_REASON_LENGTH} characters; recorded in the audit log)\n  --json           print the API's JSON reply\n\n${ADMIN_HELP}\n\nExit codes: 0 done, 1 refused by the API (e.g. 409), 2 usage error.`));
        return EXIT_OK;
      }
      const route = positionals[0]!;
      if (!RouteSchema.shape.id.safeParse(route).success) throw new UsageError(`"${route}" is not a valid route id`);
      const reason = values.reason?.trim();
      if (!reason) throw new UsageError(`--reason is required: say why (it is written to the audit log)`);
      if (reason.length > MAX_REASON_LENGTH) throw new UsageError(`--reason must be at most ${MAX_REASON_LENGTH} characters`);
      const body: CommandRequest = { reason };
      if (isStep) {
        const n = Number(positionals[1]);
        if (!/^\d+$/.test(positionals[1]!) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`<n> must be a step number from 1 (got "${positionals[1]}")`);
        body.step = n;
      }
      const res = await adminCall<CommandResponse>(io, adminTarget(values, io.env), "POST", `/routes/${encodeURIComponent(route)}/${verb}`, body);
      if (values.json) {
        printJson(io, res);
        return EXIT_OK;
      }
      const s = res.state;
      const step = s.mode === "steps" ? `, step ${stepOf(s)}` : "";
      io.out(`${res.route}: ${verb} accepted; phase ${s.phase}${step}, serving ${res.effectiveWeight}% canary, epoch ${s.epoch}, release ${s.release}\n  reason: ${s.lastChange.reason}\n`);
      return EXIT_OK;
    },
  };
}

export const routeCommands: Command[] = ADMIN_COMMANDS.map(makeCommand);
