## The core: welcome, menus, status, refusals. Chinese is the default language.

welcome =
    您好！我是{ $centre }室间质评申报助手，陪您在手机上完成 { $year } 年室间质量评价申报：
    ① 勾选 { $prev } 年实验室已开展的所有检验项目
    ② 核对本室信息、开票信息、邮寄信息，选择今年参加的专业
    ③ 上传科室负责人签字并加盖单位公章的《费用缓交协议》和《{ $licence }》
    费用：“{ $fees }”，现在无需交费。
    在这里提交的申报由{ $centre }接收并审核；通知所述的 BiQAS 网站（{ $website }）申报方式仍然有效。
    请提前准备：统一社会信用代码（纳税人识别号）、开票抬头、收件人和地址，以及执业许可证。
    English: /lang en
licence-generic = 执业许可证
who-contact = 当前绑定：{ $lab }（{ $code }）。
who-staff = 您是中心审核人员，可查看待审队列和统计。
who-guest = 您还没有绑定实验室。已参评单位请用中心发给您的绑定码绑定；新参评单位请点“新单位注册”。
deadline-left = 申报截止：{ $deadline }前，{ $days ->
        [0] 今天是最后一天。
       *[other] 还剩 { $days } 天。
    }
deadline-closed = 申报已截止（须在 { $deadline }前申报完成），现在不能再修改或提交。
closed-consequence = 按通知要求，逾期未申报或审核不通过的实验室，不发放本年度室间质量评价样品。如有特殊情况，请联系中心：

help-contact =
    常用命令：
    /status 查看申报进度和还缺什么
    /faq 常见问题（截止时间、缓交协议、许可证……）
    /cancel 退出当前操作　/restart 从头开始
    /lang en 切换到英文
    也可以直接用文字提问，例如“缓交协议要盖章吗”。
help-reviewer =
    审核人员：
    /queue 待审队列（最早的在前）　/lab 编码或名称 查看单位档案
    /approve 批量通过　/note 文字 退回时补充说明
    /stats 统计　/export 导出全部申报（Excel）　/myid 我的用户 ID
help-admin =
    管理员：
    /grant 用户ID 添加审核员　/revoke 用户ID 撤销　/reviewers 审核员名单
    /import 导入实验室名单（发送 Excel 文件）　/codes 编码 生成绑定码　/unbind 编码 解除某人的绑定
    /broadcast 群发通知　/audit 编码 查看操作记录　/votes 常见问题反馈

btn-continue = ▶ 继续申报
btn-status = 📋 申报进度
btn-bind = 🔗 绑定实验室
btn-apply = 🆕 新单位注册
btn-queue = 📥 待审队列
btn-stats = 📊 统计
btn-faq = ❓ 常见问题
btn-contacts = ☎ 联系中心
btn-menu = 🏠 主菜单
btn-back-to-step = ↩ 回到当前步骤
btn-helpful = 👍 有帮助
btn-not-helpful = 👎 没帮助
btn-more-questions = 其他问题

status-unbound = 您还没有绑定实验室，绑定后可以查看申报进度。
status-title = { $year } 年申报进度 · { $lab }（{ $code }）
step-checklist = 第一步：勾选 { $prev } 年已开展项目
step-plan = 第二步：核对信息、选择 { $year } 年参加的专业
step-documents = 第三步：上传缓交协议和执业许可证
status-missing = 还缺：{ $items }
status-review = 审核状态：{ $state }
status-returned-items = 需要重新提交：{ $items }
missing-checklist = 上年已开展项目勾选
missing-plan = 开票、邮寄信息和参加专业的确认
missing-agreement = 签字盖章的缓交协议
missing-licence = 执业许可证
missing-licence-expired = 新的执业许可证（已上传的许可证有效期不够）
review-state-draft = 尚未提交
review-state-submitted = 已提交，等待中心审核
review-state-returned = 已退回，请按原因补交
review-state-approved = 审核已通过
item-checklist = 上年已开展项目
item-lab_info = 本室信息
item-invoice = 开票信息
item-mailing = 邮寄信息
item-specialties = 参加专业
item-agreement = 缓交协议
item-licence = 执业许可证

error-internal = 抱歉，刚才处理出错了。您已提交的内容都已保存，请再试一次，或发送 /status 查看进度。
not-allowed = 您没有权限进行这个操作。
unknown-command = 没有 { $command } 这个命令。发送 /help 查看可用命令，或点下面的按钮。
button-unknown = 这个按钮无法识别，请使用最新消息中的按钮。
button-stale = 这个按钮已过期
button-stale-long = 这个按钮来自之前的界面，已经失效，什么也没有改动。请使用最新消息中的按钮，或点下面继续。
unexpected-file = 现在不需要发送文件或照片。上传缓交协议和许可证在第三步进行，请先点“继续申报”。
expected-file = 这一步需要发送照片或文件（JPG、PNG 或 PDF），不是文字。请点回形针📎选择文件发送。
file-too-big = 文件太大（超过 { $limit } MB），无法接收。请压缩后重新发送，或拍照发送。
empty-message = 没有收到内容。请输入文字，或点下面的按钮。
too-long = 消息太长（{ $length } 字），最多 { $limit } 字。请精简后重新发送。
no-words = 只看到表情或符号，没有看懂。请用文字提问，或点下面的按钮。
not-understood = 没有看懂。您可以点下面的按钮，或发送 /help。
cancelled = 已退出当前操作，已保存的内容不会丢失。
nothing-to-cancel = 当前没有进行中的操作。
restarted = 已从头开始，已保存的内容不会丢失。
lang-choose = 请选择语言 / Choose a language:
lang-set = 已切换为中文。

faq-title = { $year } 年申报常见问题，请选择：
faq-thanks = 谢谢反馈！
faq-not-helpful = 抱歉没能帮上忙。您可以换个说法再问，或直接联系中心：
faq-did-you-mean = 您想问的是下面哪个问题？
faq-no-match = 这个问题我暂时回答不了。请换个说法，或联系中心：
faq-your-status = 您单位目前的审核状态：{ $state }。
faq-licence-expired = 您单位已上传的执业许可证有效期不够，需要上传新的许可证。
faq-licence-sent = 您单位今年已上传执业许可证。
faq-licence-on-file = 您单位以前上传过执业许可证且仍在有效期内；如内容没有变更，不需要重复上传，在第三步选择“沿用已上传的许可证”即可。
faq-licence-needed = 您单位还没有上传过执业许可证，需要在第三步上传。
