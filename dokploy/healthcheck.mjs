// The container health check (Dockerfile HEALTHCHECK, Swarm health check):
// exits 0 when this container's /health answers 200 within 3 seconds. The
// slim Node image has no curl, so the check is Node itself. The worker serves
// /health on HEALTH_PORT, function processes on PORT.
const port = process.env.HEALTH_PORT || process.env.PORT || '8787';
try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
