// Structural check of provider-bound Terraform roots, offline (no provider binaries needed).
// Parses every *.tf in the given directories with @cdktf/hcl2json and checks resource/data types,
// argument names, required arguments, attribute references, literal nested objects, provider pins
// and prevent_destroy against infra/tools/provider-allowlist.json.
//
// usage: node infra/tools/check-hcl.mjs DIR...   exit 0 when clean, 1 with one line per problem otherwise.
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import hcl from "@cdktf/hcl2json";

const here = dirname(fileURLToPath(import.meta.url));
const allow = JSON.parse(readFileSync(join(here, "provider-allowlist.json"), "utf8"));
const problems = [];
const bad = (where, msg) => problems.push(`${where}: ${msg}`);

// Walk every string in a parsed value (expressions come back as "${...}" strings).
function* strings(v) {
  if (typeof v === "string") yield v;
  else if (Array.isArray(v)) for (const x of v) yield* strings(x);
  else if (v && typeof v === "object") for (const x of Object.values(v)) yield* strings(x);
}

function checkBlock(kind, type, name, body, schema, where) {
  const known = new Set([...schema.required, ...schema.optional, ...allow.meta_arguments]);
  for (const arg of Object.keys(body)) {
    if (!known.has(arg)) bad(where, `${kind} ${type}.${name}: unknown argument "${arg}"`);
  }
  for (const req of schema.required) {
    if (!(req in body)) bad(where, `${kind} ${type}.${name}: missing required argument "${req}"`);
  }
  for (const [attr, keys] of Object.entries(schema.nested ?? {})) {
    const value = body[attr];
    const objs = Array.isArray(value) ? value : value && typeof value === "object" ? [value] : [];
    for (const obj of objs) {
      if (!obj || typeof obj !== "object") continue;
      for (const k of Object.keys(obj)) {
        if (!keys.includes(k)) bad(where, `${kind} ${type}.${name}: unknown key "${k}" in ${attr}`);
      }
    }
  }
  if (schema.must_prevent_destroy) {
    const lc = (body.lifecycle ?? [])[0] ?? {};
    if (lc.prevent_destroy !== true) bad(where, `${kind} ${type}.${name}: lifecycle.prevent_destroy = true is required`);
  }
}

async function checkDir(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".tf"));
  if (files.length === 0) bad(dir, "no .tf files");
  const declared = { resource: new Set(), data: new Set() };
  const parsed = [];
  for (const f of files) {
    const where = join(dir, f);
    let json;
    try {
      json = await hcl.parse(f, readFileSync(where, "utf8"));
    } catch (e) {
      bad(where, `HCL parse error: ${e.message ?? e}`);
      continue;
    }
    parsed.push([where, json]);
    for (const [section, kind, schemas] of [["resource", "resource", allow.resources], ["data", "data", allow.data_sources]]) {
      for (const [type, instances] of Object.entries(json[section] ?? {})) {
        const schema = schemas[type];
        if (!schema) {
          bad(where, `${kind} type "${type}" is not in the allowlist (wrong name, or not in the pinned provider version)`);
          continue;
        }
        for (const [name, bodies] of Object.entries(instances)) {
          declared[section].add(`${type}.${name}`);
          for (const body of bodies) checkBlock(kind, type, name, body, schema, where);
        }
      }
    }
    for (const tf of json.terraform ?? []) {
      for (const rp of tf.required_providers ?? []) {
        for (const [local, want] of Object.entries(allow.required_providers)) {
          const got = rp[local];
          if (!got) continue;
          if (got.source !== want.source) bad(where, `provider ${local}: source "${got.source}" != "${want.source}"`);
          if (want.version && got.version !== want.version) bad(where, `provider ${local}: version "${got.version}" must be exactly "${want.version}"`);
          if (want.version_prefix && !String(got.version).startsWith(want.version_prefix)) bad(where, `provider ${local}: version "${got.version}" must start with "${want.version_prefix}"`);
        }
        for (const local of Object.keys(rp)) {
          if (!allow.required_providers[local]) bad(where, `provider "${local}" has no allowlist entry`);
        }
      }
    }
  }
  // Attribute references such as hostinger_vps.node[k].ipv4_address or data.x.y.attr.
  const refRe = /\b(data\.)?((?:hostinger|cloudflare)_[a-z0-9_]+)\.([a-z0-9_]+)(?:\[[^\]]*\])?\.([a-z0-9_]+)/g;
  for (const [where, json] of parsed) {
    for (const s of strings(json)) {
      for (const m of s.matchAll(refRe)) {
        const [, isData, type, name, attr] = m;
        const schemas = isData ? allow.data_sources : allow.resources;
        const section = isData ? "data" : "resource";
        const schema = schemas[type];
        if (!schema) {
          bad(where, `reference to unknown ${section} type ${type}`);
          continue;
        }
        if (!declared[section].has(`${type}.${name}`)) bad(where, `reference to undeclared ${section} ${type}.${name}`);
        if (!schema.attributes.includes(attr)) bad(where, `${section} ${type} has no attribute "${attr}" (in ${m[0]})`);
      }
    }
  }
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: node check-hcl.mjs DIR...");
  process.exit(2);
}
for (const d of dirs) await checkDir(d);
if (problems.length > 0) {
  for (const p of problems) console.error(`HCL-CHECK FAIL ${p}`);
  process.exit(1);
}
console.log(`hcl-check: ${dirs.join(", ")} match the provider allowlists`);
