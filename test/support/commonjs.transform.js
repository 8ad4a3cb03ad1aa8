// Jest transform for the dependencies that load modules with `import()`: PGlite (Node's own `fs`, `zlib`, …) and
// @fastify/cookie (`cookie`, which is ES modules only). Jest runs the tests as CommonJS in a vm context, where
// `import()` works only under Node's --experimental-vm-modules, an experimental feature that warns on every run.
// Here those calls become `require`, through the module's own `require` saved at its top (Emscripten's code in PGlite
// declares a `require` of its own), and an ES module is compiled to CommonJS so that `require` can load it.
// Started with --experimental-vm-modules anyway, Jest loads ES modules itself, and the files are left as they are.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const vm = require('node:vm');
const ts = require('typescript');

const OWN_SOURCE = readFileSync(__filename, 'utf8');
const VM_MODULES = typeof vm.SyntheticModule === 'function';
const DYNAMIC_IMPORT = /\bimport\(\s*(["'])([^"']+)\1\s*\)/g;
const DIRECTIVE = /^(\s*(["'])use strict\2;?)?/;
const REQUIRE = '__commonjsTransformRequire';

module.exports = {
  process(sourceText, sourcePath, { transformerConfig }) {
    if (VM_MODULES) {
      return { code: sourceText };
    }
    if (transformerConfig.esModule) {
      const { outputText } = ts.transpileModule(sourceText, {
        fileName: sourcePath,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      return { code: outputText };
    }
    const code = sourceText.replace(
      DYNAMIC_IMPORT,
      (_call, quote, name) => `Promise.resolve().then(() => ${REQUIRE}(${quote}${name}${quote}))`,
    );
    // After "use strict", which must stay the first statement; on its line, so that line numbers do not move.
    return { code: code.replace(DIRECTIVE, (directive) => `${directive};const ${REQUIRE} = require;`) };
  },
  getCacheKey(sourceText, sourcePath, { transformerConfig }) {
    return createHash('sha256')
      .update(OWN_SOURCE)
      .update(JSON.stringify({ transformerConfig, VM_MODULES }))
      .update(sourcePath)
      .update(sourceText)
      .digest('hex');
  },
};
