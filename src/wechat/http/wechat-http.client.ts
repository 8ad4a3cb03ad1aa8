import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AxiosError, AxiosRequestConfig } from 'axios';
import type { Configuration } from 'src/config/configuration';
import { Metrics } from 'src/metrics/metrics';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

export interface WeChatRequest {
  method: 'GET' | 'POST';
  /** Path under WECHAT_API_BASE, e.g. `/sns/jscode2session`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Appid the call is made for; logged with failures. */
  appid?: string;
}

interface WeChatErrorFields {
  errcode?: number;
  errmsg?: string;
}

/** Query parameters that are credentials: never logged. */
const SECRET_PARAMS = new Set(['secret', 'access_token', 'js_code', 'code', 'refresh_token', 'appsecret']);

/** The errcode label of a failed call: WeChat's errcode, else why there was none. */
function errcodeLabel(error: unknown): number | 'timeout' | 'network' | 'http' | 'not_json' {
  if (!(error instanceof WeChatApiError)) {
    return 'network';
  }
  if (error.errcode !== null) {
    return error.errcode;
  }
  if (error.timedOut) {
    return 'timeout';
  }
  if (error.errmsg.startsWith('HTTP ')) {
    return 'http';
  }
  return error.errmsg.startsWith('answer is not') ? 'not_json' : 'network';
}

/**
 * The one HTTP client for WeChat's server API: base URL, time-out, `errcode` check (a 200 with errcode ≠ 0 is a
 * failure; a success may carry no errcode at all), one retry when WeChat says it is busy (-1), and log lines that
 * never carry a secret.
 */
@Injectable()
export class WeChatHttpClient {
  private readonly logger = new Logger(WeChatHttpClient.name);
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly http: HttpService,
    config: ConfigService<Configuration, true>,
    private readonly metrics: Metrics,
  ) {
    const wechat = config.get('wechat', { infer: true });
    this.baseUrl = wechat.apiBase;
    this.timeoutMs = wechat.httpTimeoutMs;
  }

  async request<T extends object>(request: WeChatRequest): Promise<T> {
    try {
      return await this.once<T>(request);
    } catch (error) {
      if (error instanceof WeChatApiError && error.errcode === WeChatErrcode.SystemBusy) {
        this.logger.warn(`WeChat ${request.path} answered busy (-1); retrying once`);
        return this.once<T>(request);
      }
      throw error;
    }
  }

  get<T extends object>(path: string, query: WeChatRequest['query'], appid?: string): Promise<T> {
    return this.request<T>({ method: 'GET', path, query, appid });
  }

  post<T extends object>(path: string, body: unknown, query?: WeChatRequest['query'], appid?: string): Promise<T> {
    return this.request<T>({ method: 'POST', path, body, query, appid });
  }

  /** One call, counted by endpoint and errcode (`timeout`, `network`, `http`, `not_json` when WeChat gave none). */
  private async once<T extends object>(request: WeChatRequest): Promise<T> {
    const started = Date.now();
    try {
      const body = await this.call<T>(request);
      this.metrics.wechatCall(request.path, 0, Date.now() - started);
      return body;
    } catch (error) {
      this.metrics.wechatCall(request.path, errcodeLabel(error), Date.now() - started);
      throw error;
    }
  }

  private async call<T extends object>(request: WeChatRequest): Promise<T> {
    const config: AxiosRequestConfig = {
      method: request.method,
      baseURL: this.baseUrl,
      url: request.path,
      params: request.query,
      data: request.body,
      timeout: this.timeoutMs,
      // WeChat answers JSON, sometimes labelled text/plain: parse it ourselves, whatever the label.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      // WeChat's API never redirects; without redirects axios skips the follow-redirects wrapper.
      maxRedirects: 0,
    };
    let status: number;
    let raw: string;
    try {
      // The module's axios instance itself: HttpService.request wraps each call in an Observable with a cancel
      // token that it cancels (building an error) after every answer — costly per call and of no use for a promise.
      const response = await this.http.axiosRef.request<string>(config);
      status = response.status;
      raw = typeof response.data === 'string' ? response.data : JSON.stringify(response.data);
    } catch (cause) {
      const axiosError = cause as AxiosError;
      const timedOut = axiosError.code === 'ECONNABORTED' || axiosError.code === 'ETIMEDOUT';
      const error = new WeChatApiError(
        request.path,
        null,
        timedOut ? 'timed out' : (axiosError.code ?? 'network error'),
        {
          cause,
          timedOut,
        },
      );
      this.logFailure(request, error);
      throw error;
    }
    if (status >= 400) {
      const error = new WeChatApiError(request.path, null, `HTTP ${status}`);
      this.logFailure(request, error);
      throw error;
    }
    let body: T & WeChatErrorFields;
    try {
      body = JSON.parse(raw) as T & WeChatErrorFields;
    } catch (cause) {
      const error = new WeChatApiError(request.path, null, 'answer is not JSON', { cause });
      this.logFailure(request, error);
      throw error;
    }
    if (body === null || typeof body !== 'object') {
      const error = new WeChatApiError(request.path, null, 'answer is not a JSON object');
      this.logFailure(request, error);
      throw error;
    }
    if (typeof body.errcode === 'number' && body.errcode !== 0) {
      const error = new WeChatApiError(request.path, body.errcode, String(body.errmsg ?? ''));
      this.logFailure(request, error);
      throw error;
    }
    return body;
  }

  private logFailure(request: WeChatRequest, error: WeChatApiError): void {
    const params = Object.keys(request.query ?? {})
      .filter((key) => !SECRET_PARAMS.has(key))
      .map((key) => `${key}=${String(request.query?.[key])}`)
      .join('&');
    this.logger.warn(
      `WeChat ${request.method} ${request.path}${params ? `?${params}` : ''} failed: errcode=${error.errcode ?? 'none'} errmsg=${JSON.stringify(error.errmsg)}${request.appid ? ` appid=${request.appid}` : ''}`,
    );
  }
}
