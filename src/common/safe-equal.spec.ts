import { safeEqual } from 'src/common/safe-equal';

describe(safeEqual.name, () => {
  it('should tell equal and different strings apart, whatever their lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('密钥', '密钥')).toBe(true);
  });
});
