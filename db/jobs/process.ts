import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * Runs the worker entry as a child process and starts it again whenever it
 * exits on its own (with growing pauses), the way an orchestrator restarts a
 * service: a crash of the queue library takes down the worker, never the
 * process serving requests.
 */
export function superviseWorkerProcess(options: { entry: string; env: NodeJS.ProcessEnv; logger: Logger; name?: string }) {
  let child: ChildProcess | undefined;
  let stopping = false;
  let pause = 1000;
  const start = () => {
    const startedAt = Date.now();
    // The same runtime flags as this process (tsx's loader in development).
    child = spawn(process.execPath, [...process.execArgv, options.entry], { env: options.env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // A worker that ran for a while gets a quick restart; one that keeps failing, a slower one.
      pause = Date.now() - startedAt > 60_000 ? 1000 : Math.min(pause * 2, 30_000);
      options.logger.error({ code, signal, restartInMs: pause }, `${options.name ?? 'worker'} process exited; restarting it`);
      setTimeout(() => !stopping && start(), pause);
    });
  };
  start();
  return {
    /** Asks the worker to finish its jobs in hand and waits for it to exit. */
    async stop() {
      stopping = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
    pid: () => child?.pid,
  };
}
