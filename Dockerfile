# Smarketing Connector: a small, non-root image with production dependencies only.
# Build: docker build -t smarketing-connector .   Run: see docker-compose.yml
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json smarketing.example.yaml ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node src ./src
# connectors/ without connectors/sandbox and connectors/*/sandbox: .dockerignore keeps the sandboxes
# out of the build context (smk sandbox and smk demo say so in the image).
COPY --chown=node:node connectors ./connectors
COPY --chown=node:node jobs ./jobs
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "bin/smk.js"]
CMD ["start"]
