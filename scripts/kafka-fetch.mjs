#!/usr/bin/env node
// Fetch the Apache Kafka broker jars (kafka/pom.xml) into kafka/target/kafka-libs with Maven.
//   node scripts/kafka-fetch.mjs                 # always runs mvn (cheap when ~/.m2 is warm)
//   node scripts/kafka-fetch.mjs --if-missing    # skip when the jars are already there (CI warm-up)
//   node scripts/kafka-fetch.mjs -o              # any other argument is passed on to mvn (e.g. -o, -Dkafka.version=…)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pom = join(root, 'kafka', 'pom.xml');
const libs = join(root, 'kafka', 'target', 'kafka-libs');

const jarCount = () => {
  try {
    return readdirSync(libs).filter((f) => f.endsWith('.jar')).length;
  } catch {
    return 0;
  }
};

const argv = process.argv.slice(2);
const ifMissing = argv.includes('--if-missing');
const mvnArgs = argv.filter((a) => a !== '--if-missing');

if (ifMissing && jarCount() > 0) {
  console.log(`kafka-fetch: ${jarCount()} jars already in ${libs}`);
  process.exit(0);
}

for (const [cmd, flag, what] of [['java', '-version', 'Java 17+'], ['mvn', '-v', 'Maven 3.8+']]) {
  const r = spawnSync(cmd, [flag], { stdio: 'ignore' });
  if (r.error) {
    console.error(`kafka-fetch: \`${cmd}\` not found (${r.error.code ?? r.error.message}); install ${what}.`);
    process.exit(1);
  }
}

const started = Date.now();
const r = spawnSync('mvn', ['-B', '-q', '-ntp', '-f', pom, ...mvnArgs, 'dependency:copy-dependencies'], {
  stdio: 'inherit',
});
if (r.status !== 0) {
  console.error(`kafka-fetch: mvn failed (exit ${r.status ?? r.signal}); Maven Central must be reachable the first time.`);
  process.exit(r.status || 1);
}
if (jarCount() === 0) {
  console.error(`kafka-fetch: mvn succeeded but ${libs} has no jars`);
  process.exit(1);
}
console.log(`kafka-fetch: ${jarCount()} jars in ${libs} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
