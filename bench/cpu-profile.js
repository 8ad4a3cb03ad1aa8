// Preloaded into the service by `BENCH_CPU_PROFILE=<prefix> npm run bench -- oauth` (node refuses --cpu-prof in
// NODE_OPTIONS): profiles the whole process with the inspector and writes <prefix>-<pid>.cpuprofile when it exits.
// Open the file in Chrome DevTools (Performance) or any .cpuprofile viewer.
'use strict';
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 500 });
session.post('Profiler.start');
process.on('exit', () => {
  // An in-process inspector session answers synchronously, so the profile is written before the process ends.
  session.post('Profiler.stop', (error, result) => {
    if (!error) {
      writeFileSync(`${process.env.CPU_PROFILE_OUT}-${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    }
  });
});
