// What the benchmarks share: an in-process server's environment, on loopback, quiet, in `home`.
export function benchServerEnv(home: string, databaseUrl?: string): Record<string, string> {
  return {
    STELLA_HOME: home,
    STELLA_SERVER_HOST: '127.0.0.1',
    STELLA_SERVER_PORT: '0',
    STELLA_LOG_LEVEL: process.env.STELLA_BENCH_LOG ?? 'silent',
    STELLA_SERVER_DOCS_UI: 'false',
    ...(databaseUrl ? { STELLA_DATABASE_URL: databaseUrl } : {}),
  };
}
