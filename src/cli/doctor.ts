import type { Command } from "commander";
import type { CliContext } from "./context.js";

export function registerDoctor(program: Command, context: CliContext): void {
  program
    .command("doctor")
    .description("show what this machine offers tune: Node, TensorFlow.js backends, the Python bridge, GPUs, engines")
    .option("--json", "print the report as JSON")
    .action(async (flags: { json?: boolean }) => {
      const { inspectEnvironment } = await import("../engine/index.js");
      const report = await inspectEnvironment();
      if (flags.json) {
        context.output.json(report);
        return;
      }
      const { out } = context.output;
      const mark = (ok: boolean) => (ok ? "ok     " : "missing");
      out(
        `node        ${mark(report.node.supported)} ${report.node.version}${report.node.supported ? "" : " (tune needs >= 20.9)"}`,
      );
      for (const pkg of report.tfjs)
        out(`tfjs        ${mark(pkg.version !== null)} ${pkg.name}${pkg.version ? ` ${pkg.version}` : ""}`);
      const { python } = report;
      out(
        `python      ${mark(python.python !== null)} ${python.interpreter.command} (from ${python.interpreter.source})${python.python ? ` ${python.python}` : `: ${python.error}`}`,
      );
      for (const [name, version] of Object.entries(python.packages))
        out(`  ${name.padEnd(14)}${mark(version !== null)} ${version ?? ""}`);
      if (python.cuda) out(`  cuda      ${mark(python.cuda.available)} ${python.cuda.devices.join(", ")}`);
      if (report.gpus.length === 0) out("gpu         none   (no NVIDIA driver answered)");
      for (const gpu of report.gpus) out(`gpu         ok      ${gpu.name}, ${gpu.memoryMiB} MiB`);
      for (const [name, status] of Object.entries(report.engines))
        out(`engine      ${mark(status.available)} ${name}: ${status.detail}`);
    });
}
