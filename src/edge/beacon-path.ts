// Where the browser's endpoints live under ADMIN_BASE_PATH (not admin: no token): the
// beacon here, the script in metrics-script.ts. Its own file so the HTML injection can name
// it without importing the beacon handler (and, through it, the request path).
export const beaconPath = (adminBase: string): string => `${adminBase}/beacon`;
