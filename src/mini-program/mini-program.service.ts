import { Injectable, Logger } from '@nestjs/common';
import { MiniProgram, requireFields } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import { LoginResponseDto } from 'src/mini-program/dto/login.dto';
import { PhoneResponseDto } from 'src/mini-program/dto/phone.dto';
import { ProfileDto } from 'src/mini-program/dto/profile.dto';
import { MiniProgramClient } from 'src/mini-program/mini-program.client';

@Injectable()
export class MiniProgramService {
  private readonly logger = new Logger(MiniProgramService.name);

  constructor(
    private readonly client: MiniProgramClient,
    private readonly identities: IdentityService,
    private readonly sealer: SecretSealer,
    private readonly accounts: AccountRegistry,
  ) {}

  /**
   * wx.login code of the mini-program `appid` (the default one when left out) → openid (+ unionid) → one user → a
   * session, which remembers the appid. The session_key is sealed and stays here. WeChat's refusals (a used or
   * invalid code, a risky user…) go up to the shared error body.
   */
  async login(code: string, appid?: string): Promise<LoginResponseDto> {
    const { appid: appId, secret } = requireFields(this.accounts.miniProgram(appid), 'appid', 'secret');
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

  /**
   * getPhoneNumber code → the user's phone number, kept on the user. Asked with the access token of the mini-program
   * the session logged in through; a session of an official-account login, or from before accounts, uses the
   * default mini-program.
   */
  async phone(session: { userId: string; appid: string | null }, code: string): Promise<PhoneResponseDto> {
    const { userId } = session;
    const { appid: appId } = requireFields(this.sessionMiniProgram(session.appid), 'appid', 'secret');
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

  /** The session's own mini-program; the default one for a session of an official account or from before. */
  private sessionMiniProgram(appid: string | null): MiniProgram {
    if (appid === null || this.accounts.find(appid)?.kind === 'official_account') {
      return this.accounts.miniProgram();
    }
    // A mini-program removed since the login answers 404 rather than asking another one with its code.
    return this.accounts.miniProgram(appid);
  }
}
