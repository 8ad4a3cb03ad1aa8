import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import type { Configuration, MiniProgramConfig } from 'src/config/configuration';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import { LoginResponseDto } from 'src/mini-program/dto/login.dto';
import { PhoneResponseDto } from 'src/mini-program/dto/phone.dto';
import { ProfileDto } from 'src/mini-program/dto/profile.dto';
import { MiniProgramClient } from 'src/mini-program/mini-program.client';

@Injectable()
export class MiniProgramService {
  private readonly logger = new Logger(MiniProgramService.name);
  private readonly config: MiniProgramConfig;

  constructor(
    private readonly client: MiniProgramClient,
    private readonly identities: IdentityService,
    private readonly sealer: SecretSealer,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('wechat', { infer: true }).mp;
  }

  /**
   * wx.login code → openid (+ unionid) → one user → a session. The session_key is sealed and stays here. WeChat's
   * refusals (a used or invalid code, a risky user…) go up to the shared error body.
   */
  async login(code: string): Promise<LoginResponseDto> {
    const { appId, secret } = this.credentials();
    const result = await this.client.code2Session(appId, secret, code);
    if (typeof result.openid !== 'string' || typeof result.session_key !== 'string') {
      throw new AppException(502, 'wechat_unavailable', 'WeChat answered the login without an openid.');
    }
    const { userId, isNew, session } = await this.identities.login({
      appid: appId,
      openid: result.openid,
      source: 'mini_program',
      unionid: result.unionid ?? null,
      sessionKeySealed: this.sealer.seal(result.session_key),
    });
    if (isNew) {
      this.logger.log(`New mini-program user ${userId} (openid ${result.openid})`);
    }
    return {
      token: session.token,
      expiresIn: session.expiresIn,
      user: { id: userId, openid: result.openid, unionid: result.unionid ?? null, isNew },
    };
  }

  /** getPhoneNumber code → the user's phone number, kept on the user. */
  async phone(userId: string, code: string): Promise<PhoneResponseDto> {
    const { appId } = this.credentials();
    const info = await this.client.getPhoneNumber(appId, code);
    if (info.watermark?.appid && info.watermark.appid !== appId) {
      throw new AppException(502, 'wechat_error', 'WeChat returned a phone number issued for another appid.');
    }
    const phone = {
      phoneNumber: String(info.phoneNumber),
      purePhoneNumber: String(info.purePhoneNumber),
      countryCode: String(info.countryCode),
    };
    await this.identities.setPhone(userId, phone);
    return phone;
  }

  async profile(userId: string, profile: ProfileDto): Promise<MeDto> {
    await this.identities.updateProfile(userId, { nickname: profile.nickname, avatarUrl: profile.avatarUrl });
    return this.identities.getMe(userId);
  }

  private credentials(): { appId: string; secret: string } {
    const { appId, secret } = this.config;
    if (!appId || !secret) {
      throw AppException.notConfigured(
        ...([!appId && 'WECHAT_MP_APPID', !secret && 'WECHAT_MP_SECRET'].filter(Boolean) as string[]),
      );
    }
    return { appId, secret };
  }
}
