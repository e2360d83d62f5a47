// The workerd processes of a benchmark, seen from Linux /proc: which ones this process
// started, their CPU time and memory, and `--pin` (workerd on its own CPU). Why: on a
// shared 2-CPU machine wall-clock throughput moves with other people's jobs, while the
// CPU time workerd spends per request moves much less. Elsewhere the numbers are absent.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

const CLK_TCK = 100; // Linux USER_HZ; `getconf CLK_TCK` is 100 on every mainstream build

const statFields = (pid: number | string): string[] => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
};

/** The pids of the workerd processes whose parent is this process. */
export function workerdChildren(): Set<number> {
  const out = new Set<number>();
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/comm`, "utf8").trim() === "workerd" && statFields(name)[1] === String(process.pid)) out.add(Number(name));
      } catch {
        // the process went away while scanning
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** utime + stime of a process in ms, or undefined when unreadable. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = statFields(pid);
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of all threads of a process in ns (the scheduler's own account in
 * /proc/<pid>/task/<tid>/schedstat), or undefined when unreadable. Unlike wall time it is
 * not stretched while other jobs hold the CPU, and unlike utime/stime it is not counted
 * in 10 ms ticks, so it can time a batch of a few milliseconds.
 */
export function cpuNs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended while reading
      }
    }
    return total;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in MiB, or undefined when unreadable. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU lists for `--pin`: workerd on the last CPU, everything else on the others. */
export interface Pinning {
  workerd: string;
  rest: string;
}

const taskset = (cpus: string, pid: number): void => {
  // -a: every thread of the process.
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
};

/** Moves this process (and the children it forks later) off the last CPU; Linux, 2+ CPUs, taskset. */
export function startPinning(): Pinning {
  const n = availableParallelism();
  if (process.platform !== "linux" || n < 2) throw new Error(`--pin needs Linux and 2+ CPUs (have ${process.platform}, ${n})`);
  const pinning = { workerd: String(n - 1), rest: n === 2 ? "0" : `0-${n - 2}` };
  try {
    taskset(pinning.rest, process.pid);
  } catch (e) {
    throw new Error(`--pin needs taskset (util-linux): ${(e as Error).message}`);
  }
  return pinning;
}

/** Puts a workerd process on the CPU reserved for it. */
export const pinWorkerd = (pinning: Pinning, pid: number): void => taskset(pinning.workerd, pid);
