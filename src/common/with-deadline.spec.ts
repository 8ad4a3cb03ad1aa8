import { withDeadline } from 'src/common/with-deadline';

describe(withDeadline.name, () => {
  it('should give the work its value when it settles in time', async () => {
    expect(await withDeadline(Promise.resolve('done'), 50, 'fallback')).toEqual({ value: 'done', late: false });
  });

  it('should give the fallback once the time is up, the work still running', async () => {
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 200));
    expect(await withDeadline(slow, 10, 'fallback')).toEqual({ value: 'fallback', late: true });
  });

  it('should pass on a failure that comes in time', async () => {
    await expect(withDeadline(Promise.reject(new Error('broken')), 50, 'fallback')).rejects.toThrow('broken');
  });

  it('should be late at once when the deadline has passed, even for work already done', async () => {
    expect(await withDeadline(Promise.resolve('done'), 0, 'fallback')).toEqual({ value: 'fallback', late: true });
    expect(await withDeadline(Promise.reject(new Error('ignored')), -5, 'fallback')).toEqual({
      value: 'fallback',
      late: true,
    });
  });
});
