/** WeChat pads to 32-byte blocks (Node's own PKCS#7 padding is 16-byte), so padding is added and checked by hand. */
export const WECHAT_BLOCK_SIZE = 32;

export class PaddingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaddingError';
  }
}

export function pkcs7Pad(data: Buffer, blockSize = WECHAT_BLOCK_SIZE): Buffer {
  const amount = blockSize - (data.length % blockSize);
  return Buffer.concat([data, Buffer.alloc(amount, amount)]);
}

/** Removes PKCS#7 padding of 1..blockSize bytes; every padding byte must carry the padding length. */
export function pkcs7Unpad(data: Buffer, blockSize = WECHAT_BLOCK_SIZE): Buffer {
  if (data.length === 0 || data.length % 16 !== 0) {
    throw new PaddingError('ciphertext is not a whole number of blocks');
  }
  const amount = data[data.length - 1];
  if (amount < 1 || amount > blockSize || amount > data.length) {
    throw new PaddingError('bad padding length');
  }
  for (let i = data.length - amount; i < data.length; i += 1) {
    if (data[i] !== amount) {
      throw new PaddingError('bad padding bytes');
    }
  }
  return data.subarray(0, data.length - amount);
}
