/**
 * `npm run config:schema`: writes smarketing.schema.json, a JSON Schema of smarketing.yaml generated
 * from the zod schema, so that editors autocomplete and check the file
 * (add `# yaml-language-server: $schema=./smarketing.schema.json` at its top).
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { fileConfigSchema } from './config.js';

export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(fileConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

const target = process.argv[2] ?? 'smarketing.schema.json';
if (process.argv[1]?.endsWith('config-json-schema.ts')) {
  writeFileSync(target, `${JSON.stringify({ title: 'smarketing.yaml', ...configJsonSchema() }, null, 2)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}
