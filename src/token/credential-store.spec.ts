import { refreshMarginSeconds } from 'src/token/credential-store';

describe(refreshMarginSeconds.name, () => {
  it.each([
    [7200, 300],
    [3600, 300],
    [600, 300],
    [300, 150],
    [60, 30],
  ])('should refresh a %i-second token %i seconds before it expires', (expiresIn, margin) => {
    expect(refreshMarginSeconds(expiresIn)).toBe(margin);
  });
});
