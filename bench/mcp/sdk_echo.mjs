// sdk_echo.mjs N - the official TypeScript SDK client sends N `echo` calls at once
// (Promise.all) over one stdio connection to server-everything, then closes it. Prints one
// JSON line: wall and client CPU of the whole (spawn + initialize + calls + close), and of the
// calls alone. Run from the repository root (node_modules/ installed by npm ci).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const n = Number(process.argv[2] || 10000);
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const t0 = performance.now(), c0 = cpu();
const client = new Client({ name: "bench", version: "1" });
await client.connect(new StdioClientTransport({
  command: "node_modules/.bin/mcp-server-everything", args: ["stdio"], stderr: "ignore" }));
const t1 = performance.now(), c1 = cpu();
const calls = [];
for (let i = 0; i < n; i++)
  calls.push(client.callTool({ name: "echo", arguments: { message: "m" + i } },
                             undefined, { timeout: 600000 }));
const results = await Promise.all(calls);
const t2 = performance.now(), c2 = cpu();
await client.close();
const t3 = performance.now(), c3 = cpu();
for (let i = 0; i < n; i++)
  if (results[i].content[0].text !== "Echo: m" + i) throw new Error("wrong answer " + i);
console.log(JSON.stringify({ n, wall_ms: t3 - t0, cpu_ms: (c3 - c0) / 1000,
  connect_ms: t1 - t0, calls_ms: t2 - t1, calls_cpu_ms: (c2 - c1) / 1000 }));
