## Field checks (conversations/validators.py) and upload pre-checks (storage/images.py).
## Every message says what is wrong and how to fix it. Keep them short: people read them on a phone.

## Common

val-empty = 这一项不能为空，请输入后再发送。

## Unified social credit code (统一社会信用代码)

val-uscc-length = 统一社会信用代码应为 18 位，您输入了 { $length } 位。请对照营业执照或事业单位法人证书重新输入。
val-uscc-char = 统一社会信用代码第 { $position } 位是“{ $char }”，代码只含数字和大写字母。请重新输入。
val-uscc-letter = 统一社会信用代码第 { $position } 位是字母 { $char }，代码中不会出现 I、O、S、V、Z，这里多半是数字 { $suggest }。请核对后重新输入。
val-uscc-letter-v = 统一社会信用代码第 { $position } 位是字母 V，代码中不会出现 I、O、S、V、Z。请对照证书核对这一位后重新输入。
val-uscc-checksum = 这个代码的最后一位（校验位）按规则应为 { $expected }，您输入的是 { $given }。请核对；如与证书一致，可以继续，审核老师会人工确认。

## Taxpayer ID (纳税人识别号)

val-taxid-legacy = 这是 { $length } 位的旧纳税人识别号，已记录。如单位已换发统一社会信用代码，请改填 18 位代码。
val-taxid-length = 纳税人识别号一般是 18 位统一社会信用代码（旧号为 15、17 或 20 位），您输入了 { $length } 位。请向财务部门核对后重新输入。
val-taxid-char = 纳税人识别号第 { $position } 位是“{ $char }”，识别号只含数字和字母。请重新输入。

## Phone numbers

val-mobile-format = 手机号里有“{ $char }”，手机号只含数字。请输入 11 位手机号，例如 13812345678。
val-mobile-length = 手机号应为 11 位，您输入了 { $length } 位。请核对后重新输入。
val-mobile-prefix = 手机号应以 13～19 开头，共 11 位。请核对后重新输入。
val-mobile-invalid = { $number } 不是有效的手机号段，请核对是否输错了数字。
val-mobile-landline = 这是座机号码，这里需要手机号（用于接收短信）。请输入 11 位手机号。
val-landline-format = 没有看懂这个电话号码。请按“区号-号码”输入，例如 0371-12345678，分机可写成 0371-12345678转8001。
val-landline-area = 请加上区号，例如 0371-12345678。
val-landline-mobile = 这是手机号，这里需要座机号码。请按“区号-号码”输入，例如 0371-12345678；如没有座机，请返回选择填写手机。
val-landline-invalid = 区号 { $area } 后面是 { $digits } 位号码，这个组合不存在。请核对区号和号码位数（郑州为 8 位，多数地市为 7 位）。
val-landline-kaifeng = 开封的区号 0378 已于 2020 年并入 0371，原来的 7 位号码前加 2：请输入 { $number }（如号码有误请核对后重新输入）。
val-phone-outside-henan = 已记录。区号 { $area } 不在河南省内，如填写有误请重新输入。
val-phone-format = 没有看懂这个号码。请输入 11 位手机号，或“区号-号码”格式的座机，例如 0371-12345678。

## Postcode

val-postcode-format = 邮政编码是 6 位数字，例如 450052。请重新输入。
val-postcode-outside-henan = 已记录。邮编 { $postcode } 不在河南省内（河南为 45、46、47 开头），如填写有误请重新输入。

## Dates

val-date-format = 没有看懂这个日期。请按“年-月-日”输入，例如 2025-02-25 或 2025年2月25日。
val-date-year = 年份 { $year } 不对，请输入 4 位年份，例如 2025-02-25。
val-date-month = 月份只能是 1～12，您输入了 { $month }。请重新输入日期。
val-date-day = { $year } 年 { $month } 月只有 { $max } 天，没有 { $day } 日。请重新输入日期。
val-licence-order = 有效期的截止日期（{ $valid_to }）应晚于起始日期（{ $valid_from }）。请对照执业许可证重新输入。
val-licence-expires = 执业许可证 { $valid_to } 到期，早于{ $basis ->
        [samples] 质控品发放日
       *[deadline] 申报截止日
    } { $must_cover }。请先办理延续（换证），再上传新证。
val-licence-not-yet-valid = 已记录。有效期起始日 { $valid_from } 晚于{ $basis ->
        [samples] 质控品发放日
       *[deadline] 申报截止日
    } { $must_cover }，请核对年份是否输错。

## Free text

val-text-too-short = 内容太短，至少需要 { $min } 个字。请填写完整。
val-text-too-long = 内容太长：最多 { $max } 个字，您输入了 { $length } 个。请精简后重新输入。
val-text-no-letters = 内容只有符号，请输入文字。
val-text-emoji = 这一项会用于开票或邮寄，不能包含表情符号。请删除表情后重新输入。
val-name-too-short = 姓名至少 { $min } 个字，请输入完整姓名。
val-name-too-long = 姓名最多 { $max } 个字，请核对后重新输入。
val-name-chars = 姓名里不能有“{ $char }”，只能是汉字或字母（少数民族姓名可用“·”）。请重新输入。

## Upload pre-checks: refusals (the file cannot be used; the user must send another)

pre-empty = 收到的文件是空的。请重新发送。
pre-too-big = 文件超过 { $max_mb } MB，无法接收。请压缩后重新发送，或直接拍照发送。
pre-gif = 收到的是 GIF 动图，无法用于审核。请拍照发送，或发送 PDF 扫描件。
pre-heic = 收到的是 HEIC 格式（苹果手机原图），无法查看。请以“照片”方式发送，或在手机相机设置中选择“兼容性最佳”后重拍。
pre-office-document = 收到的是 Word/Excel 等办公文档。我们需要签字盖章后的纸质文件：请拍照发送，或发送 PDF 扫描件。
pre-unsupported-image = 这种图片格式（{ $kind }）无法用于审核。请拍照发送（JPG/PNG），或发送 PDF 扫描件。
pre-unknown-format = 无法识别这个文件，它不是图片或 PDF。请拍照发送，或发送 PDF 扫描件。
pre-bomb = 图片尺寸异常巨大，无法处理。请直接用手机拍照发送。
pre-corrupt = 图片已损坏或不完整，无法打开。请重新拍照发送。
pre-pdf-encrypted = PDF 设置了密码或加密，无法打开。请发送未加密的扫描件，或直接拍照发送。
pre-pdf-corrupt = PDF 文件已损坏，无法打开。请重新扫描后发送，或直接拍照发送。
pre-pdf-empty = PDF 里没有任何页面。请重新扫描后发送，或直接拍照发送。

## Upload pre-checks: advice (the file is kept; a reviewer decides)

pre-looks-fine = 文件已收到，初步检查清晰可读。
pre-low-resolution = 图片太小（{ $width }×{ $height } 像素），审核时可能看不清。建议靠近重拍，或以“文件”方式发送原图。
pre-blurry = 图片有些模糊，文字可能看不清。建议放稳手机、对焦后重拍。
pre-no-seal = 没有看到红色公章。如果协议已盖章，请忽略本提示；否则请加盖单位公章后重新拍照。
pre-blank-agreement = 这是从本机器人下载的空白协议原件。请打印，由科室负责人签字并加盖单位公章后，拍照或扫描发送。
pre-rotated = 图片已按拍摄方向自动转正。
pre-pdf-unreadable = 无法读取这个 PDF 文件（{ $reason }）。本文件未保存。请重新导出或扫描后再发送，或直接拍照发送。
pre-huge-image = 图片像素过多，无法检查。请用手机直接拍照发送，或以较低分辨率（如 300 dpi）重新扫描。
pre-pdf-active = PDF 含有可执行内容（JavaScript 或启动外部程序）
