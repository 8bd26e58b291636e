// echo_tool.mjs - the echo tool as a program: reads {"message": ...} on stdin, prints
// "Echo: MESSAGE", as server-everything's echo answers (one process per call).
let s = "";
process.stdin.on("data", (d) => (s += d)).on("end", () =>
  process.stdout.write("Echo: " + JSON.parse(s).message));
