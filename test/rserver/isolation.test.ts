import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  chooseIsolation,
  validateIsolationOption,
  type IsolationFacts,
  type IsolationOption,
} from '../../lib/rserver/isolation.js';
import type { NamespaceSupport } from '../../lib/rserver/namespace-detect.js';
import { getReleaseNeeds } from '../../lib/rserver/release.js';

const ALL: NamespaceSupport = {
  mount: '/usr/bin/mount',
  ip: '/usr/sbin/ip',
  slirp4netns: '/usr/bin/slirp4netns',
  privateTmpProblem: undefined,
  networkProblem: undefined,
  outboundProblem: undefined,
};
const NO_SLIRP: NamespaceSupport = {
  ...ALL,
  slirp4netns: undefined,
  outboundProblem: 'no slirp4netns found',
};
const NONE: NamespaceSupport = {
  ...NO_SLIRP,
  privateTmpProblem: 'no PID namespace (no unshare found)',
  networkProblem: 'no PID namespace (no unshare found)',
};

// What a probe of this release says, with the host's namespaces.
function facts(version: string, namespaces: NamespaceSupport): IsolationFacts {
  const hasWwwSocket = !/^(1\.|202[0-3]|2024\.0)/.test(version);
  const options = new Set(hasWwwSocket ? ['www-socket'] : []);
  return { hasWwwSocket, version, needs: getReleaseNeeds({ version, options }), namespaces };
}

describe('chooseIsolation', () => {
  const cases: {
    name: string;
    requested: IsolationOption;
    facts: IsolationFacts;
    level?: string;
    privateTmp?: boolean;
    outbound?: boolean;
    warnings?: RegExp[];
    refused?: RegExp;
  }[] = [
    {
      name: 'auto with --www-socket: the socket, no password',
      requested: 'auto',
      facts: facts('2024.12.1+563', NONE),
      level: 'socket',
      privateTmp: false,
      warnings: [],
    },
    {
      name: 'auto without --www-socket, namespaces and slirp4netns: the namespace with a network',
      requested: 'auto',
      facts: facts('2024.04.2+764', ALL),
      level: 'namespace',
      privateTmp: false,
      outbound: true,
      warnings: [],
    },
    {
      name: 'auto without slirp4netns: the namespace, and R has no network, said plainly',
      requested: 'auto',
      facts: facts('2024.04.2+764', NO_SLIRP),
      level: 'namespace',
      outbound: false,
      warnings: [/R will not reach the internet: install slirp4netns, or use --isolation=password/],
    },
    {
      name: 'auto without namespaces: the password alone, with the warning',
      requested: 'auto',
      facts: facts('2024.04.2+764', NONE),
      level: 'password',
      warnings: [
        /every user of this host can connect.*only a per-launch password.*no network namespace here/,
      ],
    },
    {
      name: '2022.07 gets a private /tmp',
      requested: 'auto',
      facts: facts('2022.07.2+576', ALL),
      level: 'namespace',
      privateTmp: true,
    },
    {
      name: '2022.07 without namespaces is refused, naming the release and the reason',
      requested: 'auto',
      facts: facts('2022.07.2+576', NONE),
      refused:
        /RStudio Server 2022\.07\.2 keeps its session-rpc-key in \/tmp\/rstudio-server.*private \/tmp/,
    },
    {
      name: 'socket asked of an rserver without --www-socket is refused',
      requested: 'socket',
      facts: facts('2024.04.2+764', ALL),
      refused:
        /--isolation=socket needs .*--www-socket.*RStudio Server 2024\.04\.2 has no --www-socket/,
    },
    {
      name: 'namespace asked where the host has none is refused, never weakened',
      requested: 'namespace',
      facts: facts('2024.04.2+764', NONE),
      refused: /--isolation=namespace needs a network namespace.*no unshare found/,
    },
    {
      name: 'namespace may be asked of an rserver with --www-socket',
      requested: 'namespace',
      facts: facts('2024.12.1+563', ALL),
      level: 'namespace',
    },
    {
      name: 'password asked: the password alone, whatever the host allows',
      requested: 'password',
      facts: facts('2024.12.1+563', ALL),
      level: 'password',
      warnings: [/every user of this host can connect/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.refused) {
        assert.throws(() => chooseIsolation(c.requested, c.facts), {
          code: 'EISOLATION',
          message: c.refused,
        });
        return;
      }
      const isolation = chooseIsolation(c.requested, c.facts);
      assert.equal(isolation.level, c.level);
      assert.equal(isolation.password, c.level !== 'socket');
      assert.equal(isolation.network, c.level === 'namespace');
      if (c.privateTmp !== undefined) assert.equal(isolation.privateTmp, c.privateTmp);
      if (c.outbound !== undefined) assert.equal(isolation.outbound, c.outbound);
      if (c.warnings !== undefined) {
        assert.equal(isolation.warnings.length, c.warnings.length, isolation.warnings.join('\n'));
        c.warnings.forEach((pattern, i) => assert.match(isolation.warnings[i] ?? '', pattern));
      }
      assert.match(isolation.description, new RegExp(`^${c.level ?? ''}: `));
    });
  }
});

describe('validateIsolationOption', () => {
  for (const good of ['auto', 'socket', 'namespace', 'password']) {
    test(`accepts ${good}`, () => assert.equal(validateIsolationOption(good), good));
  }
  for (const bad of ['', 'none', 'Socket', 1, undefined]) {
    test(`refuses ${JSON.stringify(bad)}`, () =>
      assert.throws(() => validateIsolationOption(bad, 'RSESSION_PROXY_ISOLATION'), {
        code: 'EINVALIDOPTION',
        message: /RSESSION_PROXY_ISOLATION to be one of auto, socket, namespace, password/,
      }));
  }
});
