// overlay-boot export and import of a subhost whose UPPER holds about
// 1 GiB of mixed files (a copy of system libraries, incompressible data,
// a large text log, 20 000 small files, a sparse file, hard links, setuid
// files, a file capability, whiteouts and an opaque directory), against
// GNU tar by hand in the same run and the same sandbox: `tar --xattrs`
// piped into the same zstd (what the tool adds), and `tar --xattrs -z`
// (what one types). Time (wall clock), stream size, and whether what came
// back still has the file capability, the overlayfs attributes and the
// whiteouts. Run it with bench/transfer.sh; not part of the test suite.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { bootSandbox, type Sandbox } from '../test/sandbox/sandbox.js';
import { installUnits, ok, sh } from '../test/e2e/kit.js';

const NAME = 'xfer';
const ROUNDS = Number(process.env.TRANSFER_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(', ');
const now = () => performance.now();

async function timed(sb: Sandbox, what: string, argv: string[]): Promise<number> {
  const t = now();
  await ok(sb.run(argv, { timeoutMs: 3_600_000 }), what);
  const ms = now() - t;
  process.stderr.write(`${what}: ${(ms / 1000).toFixed(1)} s\n`);
  return ms;
}

const bytes = async (sb: Sandbox, path: string) => Number((await sh(sb, `stat -c %s ${path}`)).trim());

/** What a copy of UPPER kept of the things plain tar gets wrong. */
async function kept(sb: Sandbox, up: string) {
  const cap = (await sb.run(['getcap', `${up}/usr/local/bin/capped`])).stdout.includes('cap_net_raw');
  const opaque = (await sb.run(['getfattr', '-n', 'trusted.overlay.opaque', '--only-values', `${up}/etc/skel`])).stdout === 'y';
  const whiteout = (await sb.run(['stat', '-c', '%F %t:%T', `${up}/etc/motd`])).stdout.trim() === 'character special file 0:0';
  const links = (await sb.run(['stat', '-c', '%h', `${up}/srv/data/h1`])).stdout.trim() === '3';
  const sparseBlocks = Number((await sb.run(['stat', '-c', '%b', `${up}/srv/data/sparse`])).stdout.trim());
  return { cap, opaque, whiteout, links, sparse: sparseBlocks < 1000 };
}

async function main(): Promise<void> {
  const started = new Date();
  const sb = await bootSandbox({ hostname: 'obt-bench-xfer' });
  const rows: string[] = [];
  try {
    await installUnits(sb);
    const d = sb.dataDir;
    const base = `${d}/${NAME}`;
    const up = `${base}/root`;
    await ok(sb.run(['overlay-boot', 'create', '--base', base, '--start', 'none', '--now', NAME]), 'create');
    await ok(
      sb.run([
        'nsenter',
        '-t',
        String(await mainPid(sb)),
        '-a',
        'sh',
        '-ec',
        'rm /etc/motd /etc/issue.net; rm -rf /etc/skel; mkdir /etc/skel',
      ]),
    );
    await ok(sb.run(['overlay-boot', 'stop', NAME]), 'stop');
    process.stderr.write('filling UPPER...\n');
    await ok(
      sb.run(
        [
          'sh',
          '-ec',
          `mkdir -p ${up}/usr/lib ${up}/usr/local/bin ${up}/srv/data ${up}/srv/small ${up}/var/log
       cp -a /usr/lib/x86_64-linux-gnu ${up}/usr/lib/
       for i in 1 2 3; do head -c 100M /dev/urandom > ${up}/srv/data/blob$i; done
       i=0; while [ $i -lt 40 ]; do cat /usr/share/common-licenses/GPL-3 /etc/services; i=$((i+1)); done > ${up}/var/log/seed
       i=0; while [ $i -lt 150 ]; do cat ${up}/var/log/seed; i=$((i+1)); done > ${up}/var/log/big.log; rm ${up}/var/log/seed
       for i in $(seq 0 20); do mkdir ${up}/srv/small/m$i; done
       seq 1 20000 | awk -v d=${up}/srv/small '{ f = d "/m" int($1 / 1000); print "message " $1 " " substr("lorem ipsum dolor sit amet consectetur adipiscing elit ", 1 + $1 % 40) > (f "/" $1); close(f "/" $1) }'
       truncate -s 1G ${up}/srv/data/sparse && echo end >> ${up}/srv/data/sparse
       echo linked > ${up}/srv/data/h1 && ln ${up}/srv/data/h1 ${up}/srv/data/h2 && ln ${up}/srv/data/h1 ${up}/srv/data/h3
       cp /bin/true ${up}/usr/local/bin/suid && chmod 4755 ${up}/usr/local/bin/suid
       cp /bin/true ${up}/usr/local/bin/capped && setcap cap_net_raw+ep ${up}/usr/local/bin/capped`.replace(/^ {7}/gm, ''),
        ],
        { timeoutMs: 3_600_000 },
      ),
      'fill UPPER',
    );
    const apparent = Number((await sh(sb, `du -s --apparent-size -B1 ${up} | cut -f1`)).trim());
    const used = Number((await sh(sb, `du -s -B1 ${up} | cut -f1`)).trim());
    const files = Number((await sh(sb, `find ${up} | wc -l`)).trim());
    const source = await kept(sb, up);
    process.stderr.write(
      `UPPER: ${files} entries, ${(used / 2 ** 30).toFixed(2)} GiB used, ${(apparent / 2 ** 30).toFixed(2)} GiB apparent\n`,
    );

    const row = (what: string, exp: number, imp: number, size: number, k: Awaited<ReturnType<typeof kept>>) =>
      `| ${what} | ${(exp / 1000).toFixed(1)} s | ${(imp / 1000).toFixed(1)} s | ${((exp + imp) / 1000).toFixed(1)} s | ${(size / 2 ** 20).toFixed(0)} MiB | ${yes(k.cap)} | ${yes(k.opaque)} | ${yes(k.whiteout)} | ${yes(k.links)} | ${yes(k.sparse)} |`;

    // Three ways with zstd, each as one export (to a file) and one import (into a new directory), run in
    // ROUNDS interleaved rounds (the machine is shared: one slow moment then hits each way in turn); medians.
    const keep = "--xattrs --xattrs-include='*' --acls --numeric-owner --sparse";
    const ways: { what: string; exp: string[]; imp: string[]; out: string; file: string }[] = [
      {
        // import: the copy into its staging dir, every member checked, extracted, renamed.
        what: 'overlay-boot export / import',
        exp: ['overlay-boot', 'export', NAME, `${d}/way.tar.zst`],
        imp: ['overlay-boot', 'import', '--name', 'copy', '--base', `${d}/copy`, `${d}/way.tar.zst`],
        out: `${d}/copy/root`,
        file: `${d}/way.tar.zst`,
      },
      {
        what: "`tar --format=posix --xattrs --xattrs-include='*' --acls --numeric-owner --sparse`, zstd -T0: export's own flags by hand, no checks",
        exp: ['bash', '-o', 'pipefail', '-c', `tar --format=posix ${keep} -cf - -C ${up} . | zstd -T0 -q > ${d}/way.tar.zst`],
        imp: ['bash', '-o', 'pipefail', '-c', `mkdir ${d}/hand && zstd -dcq ${d}/way.tar.zst | tar ${keep} -xpf - -C ${d}/hand`],
        out: `${d}/hand`,
        file: `${d}/way.tar.zst`,
      },
      {
        what: '`tar --xattrs -c \\| zstd -T0`, `zstd -d \\| tar --xattrs -xp`',
        exp: ['bash', '-o', 'pipefail', '-c', `tar --xattrs -cf - -C ${up} . | zstd -T0 -q > ${d}/way.tar.zst`],
        imp: ['bash', '-o', 'pipefail', '-c', `mkdir ${d}/hand && zstd -dcq ${d}/way.tar.zst | tar --xattrs -xpf - -C ${d}/hand`],
        out: `${d}/hand`,
        file: `${d}/way.tar.zst`,
      },
    ];
    const times = ways.map(() => ({ exp: [] as number[], imp: [] as number[], size: 0, kept: source }));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, w] of ways.entries()) {
        const t = times[i]!;
        t.exp.push(await timed(sb, `round ${round}: ${w.what}: export`, w.exp));
        t.size = await bytes(sb, w.file);
        t.imp.push(await timed(sb, `round ${round}: ${w.what}: import`, w.imp));
        t.kept = await kept(sb, w.out);
        await sh(sb, `rm -rf ${d}/copy ${d}/hand ${w.file}`);
      }
    }
    for (const [i, w] of ways.entries())
      rows.push(row(w.what, median(times[i]!.exp), median(times[i]!.imp), times[i]!.size, times[i]!.kept));
    const samples = ways.map(
      (w, i) => `${w.what.replace(/`/g, '').replace(/\\\|/g, '|')}: export ${secs(times[i]!.exp)}, import ${secs(times[i]!.imp)}`,
    );

    // By hand, as typed: tar --xattrs -czf, tar --xattrs -xzpf.
    const hand2 = await timed(sb, 'tar -cz', ['tar', '--xattrs', '-czf', `${d}/hand.tgz`, '-C', up, '.']);
    const hand2Size = await bytes(sb, `${d}/hand.tgz`);
    await sh(sb, `mkdir ${d}/hand`);
    const hand2x = await timed(sb, 'tar -xz', ['tar', '--xattrs', '-xzpf', `${d}/hand.tgz`, '-C', `${d}/hand`]);
    rows.push(row('`tar --xattrs -czf`, `tar --xattrs -xzpf`', hand2, hand2x, hand2Size, await kept(sb, `${d}/hand`)));
    await sh(sb, `rm -rf ${d}/hand ${d}/hand.tgz`);
    await ok(sb.run(['overlay-boot', 'remove', '--purge', NAME]), 'remove');

    const cpus = os.cpus();
    const text = `# Export and import of a subhost: overlay-boot against tar by hand

Measured by \`sudo bench/transfer.sh\` on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${process.env.BENCH_TREE ?? ''};
${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end (the machine is shared: other work runs at the same time). Warm page cache,
everything on tmpfs inside one sandbox systemd (no disk, no network: what is measured is the CPU work of
archiving, checking and compressing).

UPPER: ${files} entries, ${(apparent / 2 ** 30).toFixed(2)} GiB of file content (${(used / 2 ** 30).toFixed(2)} GiB used: the 1 GiB sparse
file is a hole): a copy of /usr/lib/x86_64-linux-gnu (libraries), 3 × 100 MiB of random bytes, a
${'~'}280 MiB text log, 20 000 small text files in 21 directories, the sparse file, 3 hard links, a setuid file, a
file with \`security.capability\`, 2 whiteouts and an opaque directory (deleted LOWER files).
Source UPPER: capability ${yes(source.cap)}, opaque ${yes(source.opaque)}, whiteout ${yes(source.whiteout)}.

| how | export | import | both | stream | file capability | overlay opaque xattr | whiteout | hard links | sparse hole |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The zstd rows are medians of ${ROUNDS} interleaved rounds (the gzip row: one run); every sample:
${samples.map((l) => `- ${l}`).join('\n')}

overlay-boot's import copies the stream into its staging directory and reads every member as it
arrives (a second decompression, in parallel with the copy), then extracts it (the archive is hostile
input: nothing is extracted before all of it is checked). \`tar --xattrs\` alone stores every attribute but restores only \`user.*\` ones unless
told \`--xattrs-include='*'\`, and without \`--sparse\` it stores and writes back the hole as zeros.
`;
    process.stdout.write(text);
    writeFileSync(join(process.env.BENCH_DIR ?? 'bench', 'TRANSFER.md'), text);
  } finally {
    await sb.stop();
  }
}

const yes = (b: boolean) => (b ? 'kept' : '**lost**');

async function mainPid(sb: Sandbox): Promise<number> {
  return Number(await sb.unitProperty(`subhost@${NAME}.service`, 'org.freedesktop.systemd1.Service', 'MainPID'));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/transfer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
