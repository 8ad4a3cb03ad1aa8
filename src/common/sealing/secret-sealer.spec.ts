import type { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { SecretSealer } from 'src/common/sealing/secret-sealer';

const sealerWith = (key: Buffer, previous?: Buffer) =>
  new SecretSealer({
    get: () => ({ dataEncryptionKey: key, dataEncryptionKeyPrevious: previous }),
  } as unknown as ConfigService<Configuration, true>);

describe(SecretSealer.name, () => {
  const sut = sealerWith(Buffer.alloc(32, 9));

  it('should round-trip a secret without the clear text in the sealed form', () => {
    const sealed = sut.seal('tiihtNczf5v6AKRyjwEUhQ==');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('tiihtNczf5v6AKRyjwEUhQ');
    expect(sut.open(sealed)).toBe('tiihtNczf5v6AKRyjwEUhQ==');
  });

  it('should seal the same secret differently each time', () => {
    expect(sut.seal('x')).not.toBe(sut.seal('x'));
  });

  it('should refuse a value sealed under another key', () => {
    const other = sealerWith(Buffer.alloc(32, 8));
    expect(() => sut.open(other.seal('x'))).toThrow();
  });

  it('should refuse a tampered value', () => {
    const sealed = sut.seal('refresh-token');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('zzzzzzzzzzzzz').toString('base64url');
    expect(() => sut.open(parts.join('.'))).toThrow();
    expect(() => sut.open('plain-text')).toThrow(/format/);
  });

  describe('key rotation (DATA_ENCRYPTION_KEY_PREVIOUS)', () => {
    const oldKey = Buffer.alloc(32, 1);
    const newKey = Buffer.alloc(32, 2);
    const before = sealerWith(oldKey);
    const rotated = sealerWith(newKey, oldKey);

    it('should open values sealed with the previous key and seal new ones with the current key', () => {
      const old = before.seal('session-key');
      expect(rotated.open(old)).toBe('session-key');
      expect(sealerWith(newKey).open(rotated.seal('next'))).toBe('next');
    });

    it('should reseal a value of the previous key with the current one, and leave a current value alone', () => {
      const resealed = rotated.reseal(before.seal('refresh-token'))!;
      expect(sealerWith(newKey).open(resealed)).toBe('refresh-token');
      expect(rotated.reseal(resealed)).toBeUndefined();
    });

    it('should refuse a value sealed under neither key', () => {
      expect(() => rotated.open(sealerWith(Buffer.alloc(32, 3)).seal('x'))).toThrow();
    });
  });
});
