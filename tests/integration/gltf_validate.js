// node gltf_validate.js MODULE_DIR FILE...: validates each glTF/GLB with the Khronos glTF
// validator (npm package gltf-validator, installed in MODULE_DIR/node_modules by the test) and
// prints one line per file: "<file> errors=<n> warnings=<n>" followed by its error messages.
// Exits 1 when any file has an error.
const path = require("path");
const fs = require("fs");
const validator = require(path.join(process.argv[2], "node_modules", "gltf-validator"));

async function main() {
    let bad = 0;
    for (const file of process.argv.slice(3)) {
        const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {
            uri: path.basename(file),
            maxIssues: 50,
            externalResourceFunction: () => Promise.reject(new Error("no external resources")),
        });
        const iss = report.issues;
        console.log(`${file} errors=${iss.numErrors} warnings=${iss.numWarnings}`);
        for (const m of iss.messages) {
            if (m.severity === 0)
                console.log(`  error ${m.code} ${m.pointer || ""}: ${m.message}`);
        }
        bad += iss.numErrors > 0;
    }
    process.exit(bad ? 1 : 0);
}
main().catch((e) => {
    console.error(e);
    process.exit(2);
});
