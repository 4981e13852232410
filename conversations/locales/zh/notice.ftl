## Where the bot follows the notice's own words: BiQAS credentials for new labs, licences by institution type,
## declined mandatory specialties, step 1 after submission, tests not in the catalogue.

rv-app-biqas-sms = 按中心通知，BiQAS 信息系统登录的“用户名和账号密码”将以短信方式发送到注册时填写的手机号码（{ $mobile }）。在本助手申报不需要它们；如需登录中心网站（{ $website }）的 BiQAS 系统，请使用短信中的用户名和密码。

plan-decline-ask = 不参加必选专业“{ $name }”，需要向中心说明原因。请直接输入原因（例如：本站不开展该项检测），中心审核时会看到；如改为参加，请点下面的按钮。
plan-decline-no-reason = 不参加“{ $name }”必须写明原因，未记录任何更改。
plan-declined-reason = 　不参加“{ $name }”的原因：{ $reason }
plan-specialties-use-buttons = 这里请用按钮选择专业。
rv-card-no-reason = （未说明原因）

ck-overview-blood =
    第一步：请勾选 { $prev } 年本单位检测实验室已开展的所有检验项目（省临床检验中心据此统计室间质评项目的参加率与合格率）。
    点专业进入勾选，已选 { $count } 项。勾选会自动保存，截止前可随时修改。

ck-edit-after = ✏️ 修改第一步（已开展项目）
ck-resubmitted = 第一步的修改已作为第 { $revision } 次提交发给中心审核，其他内容保持不变。
