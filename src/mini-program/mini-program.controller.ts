import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MeDto } from 'src/identity/dto/me.dto';
import { AuthenticatedSession, CurrentSession, SessionGuard } from 'src/identity/session.guard';
import { LoginDto, LoginResponseDto } from 'src/mini-program/dto/login.dto';
import { PhoneDto, PhoneResponseDto } from 'src/mini-program/dto/phone.dto';
import { ProfileDto } from 'src/mini-program/dto/profile.dto';
import { MiniProgramService } from 'src/mini-program/mini-program.service';

@ApiTags('mini-program')
@Controller('miniprogram')
export class MiniProgramController {
  constructor(private readonly miniProgram: MiniProgramService) {}

  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in with a wx.login code (code2Session) of the mini-program appid; returns a session token',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiNotFoundResponse({ description: 'appid is no mini-program of this service' })
  login(@Body() body: LoginDto): Promise<LoginResponseDto> {
    return this.miniProgram.login(body.code, body.appid);
  }

  @Post('phone')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "The user's phone number from a getPhoneNumber code; kept on the user",
    description:
      'Asked with the access token of the mini-program the session logged in through (another session: the default ' +
      'mini-program).',
  })
  @ApiOkResponse({ type: PhoneResponseDto })
  phone(@CurrentSession() session: AuthenticatedSession, @Body() body: PhoneDto): Promise<PhoneResponseDto> {
    return this.miniProgram.phone(session, body.code);
  }

  @Post('profile')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Set the user's nickname and avatar (from the mini-program's nickname/avatar components)" })
  @ApiOkResponse({ type: MeDto })
  profile(@CurrentSession() session: AuthenticatedSession, @Body() body: ProfileDto): Promise<MeDto> {
    return this.miniProgram.profile(session.userId, body);
  }
}
