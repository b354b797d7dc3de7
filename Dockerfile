# One image for the worker, the web server and the one-shot database jobs (docker-compose.yml picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
# prisma generate needs no native engine with the pg driver adapter; any existing file satisfies its lookup.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/usr/local/bin/node npx prisma generate \
 && npx remix vite:build --config web-remix/vite.config.ts

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
CMD ["npx", "tsx", "web-remix/server.ts"]
