// ajv_check.mjs FILE - validates every output of tests/sampler/test_schema_prop.c with ajv
// (JSON Schema 2020-12, ajv-formats for format): FILE has one {"schema", "outputs": [text]}
// per line. Prints a summary and every invalid output; exits 1 if any, 2 if ajv itself fails
// its self-check (a known-invalid value must be refused, so the test cannot pass vacuously).
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";

function newAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const control = newAjv().compile({ type: "integer", minimum: 5, format: "date" });
if (control(3) || !control(7)) {
  console.log("ajv self-check failed");
  process.exit(2);
}

const lines = readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
let schemas = 0, outputs = 0, bad = 0;
for (const line of lines) {
  const { schema, outputs: outs } = JSON.parse(line);
  let validate;
  try {
    validate = newAjv().compile(schema);
  } catch (e) {
    bad++;
    console.log(`ajv cannot compile ${JSON.stringify(schema)}: ${e.message}`);
    continue;
  }
  schemas++;
  for (const text of outs) {
    outputs++;
    let v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      bad++;
      console.log(`NOT JSON: ${text}\n  schema: ${JSON.stringify(schema)}`);
      continue;
    }
    if (!validate(v)) {
      bad++;
      console.log(`INVALID: ${text}\n  schema: ${JSON.stringify(schema)}\n  ajv: ` +
                  JSON.stringify(validate.errors));
    }
  }
}
console.log(`ajv: ${schemas} schemas, ${outputs} outputs, ${bad} invalid`);
process.exit(bad ? 1 : 0);
