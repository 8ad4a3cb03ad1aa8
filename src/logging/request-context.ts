import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while serving a request says about it: never headers, cookies or the query. */
export interface RequestLogContext {
  id: string;
  method: string;
  path: string;
}

/** The request being served, for log lines written by code that has no request at hand (services, clients). */
export const requestLogContext = new AsyncLocalStorage<RequestLogContext>();

/** A request's id, method and path; the path never carries the query string (OAuth codes, signatures). */
export function describeRequest(id: string, method: string, url: string): RequestLogContext {
  const query = url.indexOf('?');
  return { id, method, path: query === -1 ? url : url.slice(0, query) };
}
