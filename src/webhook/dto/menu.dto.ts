import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject } from 'class-validator';

/** WeChat's custom-menu JSON (自定义菜单): up to 3 buttons, each with up to 5 sub-buttons; WeChat checks the rest. */
export class MenuDto {
  @ApiProperty({
    description: "WeChat's menu buttons, passed on as given",
    example: [
      { type: 'click', name: '今日歌曲', key: 'V1001_TODAY_MUSIC' },
      { name: '菜单', sub_button: [{ type: 'view', name: '搜索', url: 'https://www.soso.com/' }] },
    ],
    type: 'array',
    items: { type: 'object' },
  })
  @IsArray({ message: 'button must be an array' })
  @ArrayMinSize(1, { message: 'button must hold 1 to 3 buttons' })
  @ArrayMaxSize(3, { message: 'button must hold 1 to 3 buttons' })
  @IsObject({ each: true, message: 'each button must be an object' })
  button: Record<string, unknown>[];
}
