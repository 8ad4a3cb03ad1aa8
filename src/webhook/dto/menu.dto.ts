import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject } from 'class-validator';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
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
  @IsObject({ each: true, message: 'each button must be an object' })
  @ArrayMaxSize(3, { message: 'button must hold 1 to 3 buttons' })
  @ArrayMinSize(1, { message: 'button must hold 1 to 3 buttons' })
  @IsArray({ message: 'button must be an array' })
  button: Record<string, unknown>[];
}
