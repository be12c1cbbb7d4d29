# SecureLogin Connect: the app on Node 24, run directly from its TypeScript
# sources by Node's type stripping (no build step), as a non-root user.

FROM node:24-slim AS dependencies
WORKDIR /app
# Toolchain only for this stage: native modules (argon2, better-sqlite3) fall
# back to a source build when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
# bin/securelogin.js checks the Node version with it before anything else.
COPY scripts/need-node.js ./scripts/need-node.js
COPY server ./server
COPY views ./views
COPY public ./public
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Liveness, as README tells orchestrators: /healthz (the process answers).
# Not /readyz: when PostgreSQL or Redis is down every instance fails it, and
# an orchestrator that replaces unhealthy containers (Swarm) would restart
# them all for nothing. Readiness (/readyz) is for the load balancer.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same Node flags as `npm start` (test/deployment.test.ts keeps them equal):
# a young generation held to 16 MiB semi-spaces, which V8 otherwise grows to
# 64 MiB under load and keeps (BENCHMARKS.md, memory).
CMD ["node", "--max-semi-space-size=16", "server/main.ts"]
