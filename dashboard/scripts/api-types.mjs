// The dashboard's API types, generated from the server's OpenAPI document
// (openapi.json, which `cargo test --lib openapi` keeps equal to what the
// Rust code derives) with openapi-typescript into src/api.gen.ts.
//
//   node scripts/api-types.mjs --write   regenerate src/api.gen.ts
//   node scripts/api-types.mjs --check   fail if src/api.gen.ts is not what
//                                        openapi.json gives (npm run build does this)
//
// scripts/gen-api-types.sh at the repository root rewrites both files.
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  console.error('usage: node scripts/api-types.mjs --write|--check');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(here('openapi.json'), 'utf8'));
const generated = COMMENT_HEADER + astToString(await openapiTS(doc));
const target = here('src/api.gen.ts');
if (mode === '--write') {
  writeFileSync(target, generated, 'utf8');
  console.error('[api-types] src/api.gen.ts written');
} else {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing: reported below
  }
  if (committed !== generated) {
    console.error(
      'dashboard/src/api.gen.ts is not what openapi-typescript makes of dashboard/openapi.json;\n' +
        'run scripts/gen-api-types.sh (from the repository root) and commit both files.',
    );
    process.exit(1);
  }
}
