# Smarketing Connector: a small, non-root image that runs the compiled JavaScript with production
# dependencies only. Build: docker build -t smarketing-connector .   Run: see docker-compose.yml
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The compiler stage: every dependency (TypeScript is a development one), then `npm run build`
# into dist/. The sandboxes are not in the build context (.dockerignore), so they are not compiled.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY connectors ./connectors
COPY jobs ./jobs
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# package.json marks dist's .js files as ES modules; the example documents every option.
COPY --chown=node:node package.json smarketing.example.yaml ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "--enable-source-maps", "dist/src/cli.js"]
CMD ["start"]
