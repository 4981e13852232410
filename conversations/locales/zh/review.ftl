## The centre's side: the reviewer desk (rv-) and administration (adm-). Chinese first.

## Cards and alerts in the reviewers' chat

rv-alert-new = 🔔 新的申报待审核
rv-alert-new-application = 🔔 新参评单位注册申请待审核
rv-card-title = { $year } 年申报 · { $lab }（{ $code }）· 第 { $revision } 次提交
rv-card-lab = 类型：{ $type } · 等级：{ $level } · 地市：{ $city }
rv-card-contacts = 联系人：{ $people }
rv-card-invoice = 开票单位：{ $title } · 纳税人识别号：{ $taxpayer }
rv-card-taxpayer-warning = 统一社会信用代码的校验位不符，请与证书核对。
rv-card-name-differs = 开票单位“{ $title }”与单位名称“{ $name }”不一致，请与执业许可证核对。
rv-card-specialties = 参加专业（{ $count }）：{ $list }
rv-card-mandatory-declined = 未参加的必选专业：{ $list }
rv-card-tests = { $prev } 年已开展项目：{ $count } 项
rv-card-extra-tests = 列表外项目（{ $count }）：{ $list }
rv-card-agreement = 缓交协议：{ $state }
rv-card-licence = 执业许可证：{ $state }
rv-card-licence-expired = 有效期至 { $until }，在{ $basis ->
        [samples] 样品发放
       *[deadline] 申报截止
    }前到期
rv-card-licence-kept = 沿用往年已上传的许可证（有效期至 { $until }）
rv-card-valid-until = 有效期至 { $until }
rv-card-last-return = 第 { $revision } 次提交曾被退回，原因：
rv-card-returned-items = 需重新提交：{ $items }
rv-docs-count = { $count } 份
rv-docs-none = 未上传
rv-docs-none-sent = { $code } 没有可查看的材料。
rv-doc-caption = { $item } 第 { $n }/{ $total } 份 · { $code }
rv-doc-earlier = 往年上传
rv-pre-low-resolution = 分辨率低（{ $width }×{ $height }）
rv-pre-blurry = 可能模糊
rv-pre-no-seal = 未检出红色公章
rv-pre-blank-agreement = 空白协议原件（未签字盖章）
rv-state-waiting = ⏳ 待审核（提交于 { $at }）
rv-state-approved = ✅ 已通过 — { $who }，{ $at }
rv-state-returned = ↩ 已退回 — { $who }，{ $at }
rv-state-rejected = ⛔ 未通过 — { $who }，{ $at }
rv-state-draft = 尚未提交
rv-app-title = { $year } 年新参评单位注册 · { $name } · 第 { $revision } 次提交
rv-app-duplicate-hint = 可能已是参评单位：{ $name }（{ $code }）
rv-app-lab-code = 已分配实验室编码：{ $code }
rv-robot-submission = 【室间质评申报】{ $lab }（{ $code }）第 { $revision } 次提交，{ $at }，待审核。请到审核群处理。
rv-robot-application = 【室间质评申报】新参评单位注册申请：{ $name }（{ $city }），{ $at }，待审核。请到审核群处理。

## Buttons

rv-btn-approve = ✅ 通过
rv-btn-approve-application = ✅ 通过并分配编码
rv-btn-return = ↩ 退回…
rv-btn-docs = 📎 查看材料
rv-btn-lab = 📁 单位档案
rv-btn-queue = 📥 待审队列
rv-btn-open-current = 🔎 打开最新提交
rv-btn-open-this-year = 🔎 打开今年的申报
rv-btn-prev = ◀ 上一页
rv-btn-next = 下一页 ▶
rv-btn-bulk = ✅ 批量通过…
rv-btn-audit = 🧾 操作记录
rv-btn-export = 📤 导出 Excel
rv-btn-resend = ▶ 重新提交这些项目
rv-btn-correct = ✏️ 修改注册信息

## Decisions

rv-decision-approved = 通过
rv-decision-returned = 退回
rv-decision-rejected = 不通过
rv-approved-toast = 已通过，已通知实验室
rv-returned-toast = 已退回，已通知实验室
rv-taken = { $name } 这一版已由 { $who } 于 { $at } 审核（{ $decision }），以先做出的决定为准，您的操作没有生效。
rv-resent = { $name } 已重新提交（现为第 { $revision } 次提交），您看到的是旧版本，操作没有生效。请打开最新提交再审核。
rv-incomplete = { $name } 缺少签字盖章的缓交协议或有效的执业许可证。按通知要求，二者缺一不可，不能通过；请退回并注明原因。
rv-not-pending = { $name } 当前不在待审状态，操作没有生效。
rv-missing = 找不到这条记录，操作没有生效。
rv-decided-elsewhere = { $who } 已审核 { $name }：{ $decision }。
rv-skip-resent = 已重新提交，未处理
rv-skip-taken = 已有人审核
rv-skip-not-pending = 不在待审状态
rv-skip-incomplete = 材料不全，不能通过
rv-skip-missing = 找不到记录
rv-skip-outdated = 往年的申报，未处理
rv-outdated = { $name } 的 { $year } 年申报已过期：审核台只审核 { $current } 年的申报，操作没有生效。

## Return with reasons

rv-return-title = 退回 { $name }
rv-return-hint = 请勾选退回原因（可多选），实验室只需重新提交相关项目：
rv-return-note = 其他原因：{ $note }
rv-return-other-items = 其他原因需要实验室重新提交的项目（可多选）：
rv-return-items = 将要求重新提交：{ $items }
rv-return-confirm = ↩ 确认退回（{ $count } 条原因）
rv-return-cancel = 取消
rv-return-cancelled = 已取消，没有做任何改动。
rv-return-choose = 请至少选择一条退回原因。
rv-returned-done = 已退回 { $name }，原因：
rv-items-none = 无（实验室按原因处理后可直接重新提交）
rv-reason-unsigned = 缓交协议未经科室负责人签字
rv-reason-no-seal = 缓交协议未加盖单位公章
rv-reason-agreement-unreadable = 缓交协议照片看不清
rv-reason-licence-unreadable = 执业许可证照片看不清
rv-reason-licence-missing = 缺少执业许可证
rv-reason-licence-expired = 执业许可证已过期
rv-reason-name-mismatch = 许可证上的单位名称与开票单位名称不一致
rv-reason-app-info = 注册信息有误或不完整
rv-reason-app-licence = 执业许可证信息有误或已过期
rv-reason-app-ineligible = 不符合参评条件
rv-reason-app-duplicate = 已是参评单位（请用中心发的绑定码绑定）
rv-reason-other = 其他原因（输入文字）
rv-reason-other-text = 其他：{ $note }
rv-note-ask = 请输入其他原因（一句话说明需要实验室怎么做）。在群里也可以发送：/note 原因
rv-note-back = ↩ 返回原因列表
rv-note-clear = 🗑 清除其他原因
rv-note-nothing = 当前没有进行中的退回操作。请在申报卡片上点“退回…”。

## What the lab is told

rv-lab-approved =
    🎉 { $lab }（{ $code }）的 { $year } 年室间质评申报已审核通过！
    接下来：{ $samples ->
        [none] 本年度质控品的发放时间以中心通知为准（见通知附件二），请留意收样。
       *[other] 中心将按计划自 { $samples } 起发放本年度质控品，请留意收样。
    }
    费用：{ $fees }
rv-lab-returned = ↩ { $lab }（{ $code }）的 { $year } 年申报被中心退回，原因如下：
rv-why-unsigned = 缓交协议需要科室负责人签字，请签字后重新拍照上传。
rv-why-no-seal = 缓交协议需要加盖单位公章，请盖章后重新拍照上传。
rv-why-agreement-unreadable = 缓交协议照片看不清，请放平、对焦后重新拍照，或以“文件”方式发送原图或 PDF 扫描件。
rv-why-licence-unreadable = 执业许可证照片看不清，请重新拍照，或以“文件”方式发送原图或 PDF 扫描件。
rv-why-licence-missing = 缺少执业许可证，请上传本单位有效期内的许可证（医院为《医疗机构执业许可证》，血站为《血站执业许可证》，单采血浆站为《单采血浆许可证》）。
rv-why-licence-expired = 执业许可证已过期，请上传新的许可证并填写新的有效期。
rv-why-name-mismatch = 开票单位名称与执业许可证上的单位名称不一致，请核对并更正开票信息。
rv-why-app-info = 注册信息有误或不完整，请核对后修改。
rv-why-app-licence = 执业许可证信息有误或已过期，请核对登记号和有效期。
rv-why-app-ineligible = 不符合“参加单位”的条件（二级及以上医疗机构、采供血机构检测实验室、医疗机构输血科；不接受仪器、试剂生产销售机构）。
rv-why-app-duplicate = 您单位已是参评单位，无需重新注册。请联系中心获取绑定码，用“绑定实验室”绑定。
rv-lab-redo = 只需重新提交：{ $items }。其他内容已保留，无需重填。
rv-lab-redo-nothing = 请按上述原因处理后，直接重新提交即可，已填写的内容都已保留。
rv-lab-deadline = 请在 { $deadline }前重新提交（{ $days ->
        [0] 今天是最后一天
       *[other] 还剩 { $days } 天
    }）。
rv-app-approved =
    🎉 “{ $name }”的注册申请已审核通过！
    实验室编码：{ $code }（已与您的账号绑定）。
    现在可以开始 { $year } 年申报的三个步骤，请在 { $deadline }前完成。
rv-app-returned = ↩ “{ $name }”的注册申请被中心退回，原因如下：
rv-app-rejected = ⛔ 很抱歉，“{ $name }”的注册申请未通过，原因如下：
rv-app-correct = 您填写的内容都已保留，请点下面的按钮修改后重新提交（请在 { $deadline }前）。

## The queue, a lab's file

rv-queue-title = 📥 待审 { $count } 项（最早的在前）。
rv-queue-empty = 📥 目前没有待审核的申报。
rv-queue-enrollment = { $code } { $name } · 第 { $revision } 次 · { $since }
rv-queue-application = 🆕 { $name }（{ $city }）· { $since }
rv-days-left = { $days ->
        [0] 今天是申报的最后一天。
       *[other] 距截止还有 { $days } 天。
    }
rv-closed = 申报已截止。
rv-lab-usage = 请在命令后输入实验室编码或名称，例如：/lab HN0001 或 /lab 人民医院
rv-lab-not-found = 没有找到“{ $query }”。请检查编码或换个名称关键字。
rv-lab-choose = 找到 { $count } 家，请选择：
rv-file-title = 📁 { $name }（{ $code }）
rv-file-credit = 统一社会信用代码：{ $code }
rv-file-licence = 执业许可证：{ $number }，有效期 { $start } 至 { $until }
rv-file-address = 地址：{ $address }
rv-file-no-contacts = 没有联系人。
rv-file-not-started = { $year } 年尚未开始申报。
rv-file-year = { $year } 年申报：{ $state }（第 { $revision } 次提交）
rv-file-steps = 第一步 { $checklist } · 第二步 { $plan } · 第三步 { $documents }
rv-file-review = 第 { $revision } 次提交：{ $decision } — { $who }，{ $at }
rv-contact-main = 联系人
rv-contact-backup = 备用联系人
rv-contact-bound = 已绑定
rv-contact-inactive = 已停用
rv-contact-roster = 名单登记，尚未绑定

## Figures

rv-stats-title = 📊 { $year } 年申报统计（截至 { $at }）
rv-stats-deadline = 截止：{ $deadline }前。
rv-stats-labs = 实验室：
rv-stats-total = 共 { $count } 家
rv-stats-approved = 已通过 { $count }
rv-stats-submitted = 待审 { $count }
rv-stats-returned = 已退回 { $count }
rv-stats-draft = 填写中 { $count }
rv-stats-none = 未开始 { $count }
rv-stats-applications = 新单位注册：待审 { $pending } · 已通过 { $approved } · 退回修改 { $returned } · 未通过 { $rejected }
rv-stats-by-city = 按地市：
rv-stats-by-type = 按机构类型：
rv-stats-specialties = 各专业（已确认申购 / 已通过）：
rv-stats-specialty = • { $name }：{ $chosen } / { $approved }

## Bulk approval

rv-bulk-pick = 批量通过：请勾选要通过的申报（待审 { $count } 项，第 { $page }/{ $pages } 页）。⚠️ 表示预检有提示，建议先单独查看。
rv-bulk-page-all = 本页全选
rv-bulk-review = 下一步：核对（已选 { $count }）
rv-bulk-choose = 请至少勾选一项。
rv-bulk-confirm = 请确认批量通过以下 { $count } 家实验室的申报：
rv-bulk-gone = 已不在待审队列，将跳过
rv-bulk-do = ✅ 确认通过 { $count } 家
rv-bulk-change = ✏️ 修改选择
rv-bulk-cancelled = 已取消批量通过，没有做任何改动。
rv-bulk-result = 批量审核完成：通过 { $approved } 家，跳过 { $skipped } 家。
rv-bulk-not-pending = 以下编码不在待审队列中，已忽略：{ $codes }
rv-bulk-nothing = 没有可批量通过的待审申报。
rv-bulk-elsewhere = { $who } 批量通过了 { $count } 家实验室的申报。

## Administration: people

adm-myid = 您的用户 ID：{ $user }（当前会话 ID：{ $chat }）。需要审核权限时，请把用户 ID 发给管理员。
adm-role-reviewer = 审核员
adm-role-admin = 管理员
adm-grant-usage = 用法：/grant 用户ID [姓名]。对方发送 /myid 即可看到自己的用户 ID。
adm-grant-admin-refused = 只有配置文件中的管理员可以授予管理员权限。
adm-grant-granted = 已将 { $user } 设为{ $role }。
adm-grant-restored = 已恢复 { $user } 的{ $role }权限。
adm-grant-changed = 已将 { $user } 的角色改为{ $role }。
adm-grant-unchanged = { $user } 已经是{ $role }，无需重复设置。
adm-granted-you = 您已被设为室间质评申报的{ $role }。发送 /queue 查看待审队列，/help 查看全部命令。
adm-revoke-usage = 用法：/revoke 用户ID
adm-revoke-settings-admin = { $user } 是配置文件（EQA_ADMIN_IDS）中的管理员，不能在聊天中撤销。
adm-revoke-none = { $user } 没有审核或管理权限，无需撤销。
adm-revoked = 已撤销 { $user } 的{ $role }权限。此后其操作（包括旧消息上的按钮）都不会生效。
adm-staff-title = 👥 审核人员：
adm-staff-settings-admin = { $user } · 管理员（配置文件）
adm-staff-line = { $user } · { $name } · { $role } · { $state } · 自 { $since }
adm-staff-active = 有效
adm-staff-inactive = 已撤销
adm-staff-none = 尚未添加审核员。
adm-staff-how = 添加：/grant 用户ID 姓名　撤销：/revoke 用户ID

## Administration: roster import and binding codes

adm-import-ask =
    请发送实验室名单 Excel 文件（.xlsx，最多 { $max } 行）。
    必需的列：实验室编码、单位名称、机构类型、等级、地市。
    可选的列：联系人、手机、统一社会信用代码、执业许可证登记号、许可证有效期至、地址、备用联系人、备用联系人手机。
    已有的编码会更新，新的编码会新增；导入后为尚未绑定的实验室生成绑定码表。
adm-btn-template = 📄 下载名单模板
adm-btn-cancel = 取消
adm-template-caption = 名单模板：第一行是表头，从第二行起每行一家实验室。
adm-import-cancelled = 已取消导入。
adm-import-done = 新增 { $created } 家，更新 { $updated } 家，无变化 { $unchanged } 家。
adm-import-more-problems = ……另有 { $count } 个问题，见问题清单。
adm-report-caption = 导入问题清单：每个被退回的行及修改方法。改正后重新发送 /import 导入即可（已导入的行不会重复）。
adm-codes-issued = 已生成 { $count } 个绑定码（有效期至 { $until }），见绑定码表。
adm-codes-none = 所有名单内的实验室都已绑定或已有未过期的绑定码，无需生成新的绑定码。
adm-codes-left = 还有 { $count } 家待生成绑定码。
adm-btn-more-codes = 🔑 继续生成绑定码（{ $count } 个）
adm-codes-sheet = 绑定码
adm-codes-caption = 绑定码表（{ $count } 个，有效期至 { $until }）：请通过短信等方式发给各实验室联系人，让其向本机器人发送表中“绑定方式”一栏的内容。
adm-code-main = 联系人
adm-code-backup = 备用联系人

## Administration: the export

adm-export-sheet = { $year } 年申报
adm-export-caption = { $year } 年全部实验室申报信息（{ $count } 家，导出于 { $at }）。编码、信用代码和电话均为文本格式。
adm-yes = 是
adm-col-code = 实验室编码
adm-col-name = 单位名称
adm-col-type = 机构类型
adm-col-level = 等级
adm-col-city = 地市
adm-col-credit = 统一社会信用代码
adm-col-licence-no = 执业许可证登记号
adm-col-licence-from = 许可证有效期起
adm-col-licence-to = 许可证有效期至
adm-col-address = 单位地址
adm-col-source = 来源
adm-col-contact = 联系人
adm-col-mobile = 联系人手机
adm-col-backup = 备用联系人
adm-col-backup-mobile = 备用联系人手机
adm-col-bound = 已绑定人数
adm-col-status = 申报状态
adm-col-revision = 提交次数
adm-col-submitted = 提交时间
adm-col-decided = 审核时间
adm-col-decision = 审核结论
adm-col-reviewer = 审核人
adm-col-reasons = 退回原因
adm-col-redo = 需重新提交
adm-col-lab-name = 本室信息-名称
adm-col-lab-address = 本室信息-地址
adm-col-lab-phone = 本室信息-电话
adm-col-head = 科室负责人
adm-col-invoice-title = 开票单位名称
adm-col-taxpayer = 纳税人识别号
adm-col-recipient = 收件人
adm-col-recipient-phone = 收件人电话
adm-col-mail-address = 邮寄地址
adm-col-postcode = 邮政编码
adm-col-specialty-count = 参加专业数
adm-col-declined = 未参加的必选专业
adm-col-tests-count = { $prev } 年已开展项目数
adm-col-tests = { $prev } 年已开展项目
adm-col-checklist-at = 项目勾选提交时间
adm-col-plan-at = 申购确认时间
adm-col-agreement = 缓交协议
adm-col-licence-doc = 执业许可证
adm-col-precheck = 预检提示
adm-col-kind = 类别
adm-col-binding = 绑定码
adm-col-how = 绑定方式（发送给机器人）
adm-col-until = 有效期至
adm-col-wechat-qr = 微信扫码绑定（{ $days } 天内有效）
adm-code-no-qr = （未能生成，请用绑定码）
adm-doc-pages = 已上传 { $count } 份
adm-doc-on-file = 沿用往年
adm-doc-expired = 已过期
adm-doc-missing = 未上传
adm-status-none = 未开始
adm-status-draft = 填写中
adm-status-submitted = 待审核
adm-status-returned = 已退回
adm-status-approved = 已通过
adm-source-roster = 名单导入
adm-source-application = 新单位注册
adm-source-demo = 演示

## Administration: the audit log

adm-audit-usage = 用法：/audit 实验室编码，例如 /audit HN0001
adm-audit-title = 🧾 { $name }（{ $code }）的操作记录，共 { $total } 条（最新的在前）：
adm-audit-before = 之前
adm-audit-after = 之后
adm-audit-empty = 暂无记录。
rv-stats-waiting = 等待实验室打开对话后才能送达的消息：{ $count } 条
