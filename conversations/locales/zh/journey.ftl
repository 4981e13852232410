## The lab contact's journey: binding, new-lab application, the three steps, documents, submission.

form-current = 当前填写：{ $value }
form-keep = 保持不变
form-skip = 跳过
form-empty = （未填写）
form-use-buttons = 这一项请点下面的按钮选择。

journey-unbound = 请先绑定实验室：已参评单位用中心发给您的绑定码，新参评单位点“新单位注册”。
journey-locked-submitted = 申报已提交，正在等待中心审核，暂时不能修改。审核结果会第一时间通知您；如需修改，请联系中心退回。
journey-locked-approved = 申报已审核通过，不能再修改。如需变更，请联系中心。
journey-locked-returned = 中心退回时没有要求修改这一项，它会原样保留。请只补交退回原因中列出的项目。

bind-ask =
    请输入实验室编码和绑定码，中间用空格隔开，例如：
    HN0001 ABCD-2345
    绑定码由中心发放，只能使用一次。还没有参评过的单位，请点“新单位注册”。
bind-format = 没有看懂。请输入“实验室编码 空格 绑定码”，例如：HN0001 ABCD-2345。
bind-wrong = 实验室编码或绑定码不正确（或绑定码已用过、已过期）。还可以再试 { $left } 次，请核对中心发来的通知后重新输入。
bind-locked = 输入错误次数过多，为保护账户安全，请于 { $until } 之后再试。如绑定码遗失，请联系中心重新发放：
bind-done = 绑定成功！您现在是 { $lab }（{ $code }）的联系人。接下来点“继续申报”，我会一步步带您完成。
bind-done-backup = 绑定成功！您现在是 { $lab }（{ $code }）的备用联系人；主联系人未响应提醒时，提醒也会发给您。

app-intro = 新参评单位注册：先确认是否符合参评条件，再填写单位信息。每一项填写后都会自动保存。
app-ask-type = 请选择单位类型：
app-ask-level = 请选择医疗机构等级：
app-ask-name = 请输入单位（医疗机构）全称，与执业许可证一致：
app-ask-city = 请选择所在地市：
app-ask-licence-no = 请输入执业许可证的登记号（医院填《医疗机构执业许可证》，血站填《血站执业许可证》，单采血浆站填《单采血浆许可证》）：
app-ask-valid-from = 请输入执业许可证有效期的起始日期（例如 2020-05-01）：
app-ask-valid-to = 请输入执业许可证有效期的截止日期（例如 2030-04-30）：
app-ask-credit-code = 请输入单位的 18 位统一社会信用代码：
app-ask-address = 请输入单位地址：
app-ask-contact = 请输入联系人姓名：
app-ask-mobile = 请输入联系人手机号（审核通过后，中心会通过短信发送账号信息）：
app-f-type = 单位类型
app-f-level = 等级
app-f-name = 单位名称
app-f-city = 地市
app-f-licence-no = 许可证登记号
app-f-valid-from = 许可证有效期起
app-f-valid-to = 许可证有效期至
app-f-credit-code = 统一社会信用代码
app-f-address = 地址
app-f-contact = 联系人
app-f-mobile = 手机号
app-ineligible = 很抱歉，不能参评：{ $reason }
    如对单位类型有疑问，可以重新选择，或联系中心：
app-choose-again = 重新选择
app-review = 请核对注册信息，确认无误后提交：
app-submit = ✅ 提交注册申请
app-submitted = 已提交“{ $name }”的注册申请。中心审核通过后，会在这里通知您并告知实验室编码，届时即可开始申报。
app-pending = “{ $name }”的注册申请正在等待中心审核，审核结果会在这里通知您。
app-already-bound = 您已经绑定了实验室，不需要再注册。点“继续申报”即可。
app-closed = 申报已截止，无法再提交新单位注册申请。

ck-overview =
    第一步：请勾选 { $prev } 年实验室已开展的所有检验项目（用于公立医院绩效考核的参加率、合格率统计）。
    点专业进入勾选，已选 { $count } 项。勾选会自动保存，截止前可随时修改。
ck-specialty = { $name }：勾选 { $prev } 年已开展的项目（已选 { $count }/{ $total }）
ck-page = 第 { $page }/{ $pages } 页
ck-all = 全选
ck-none = 全不选
ck-prev = ◀ 上一页
ck-next = 下一页 ▶
ck-back = ↩ 返回专业列表
ck-review = ✅ 查看汇总并提交
ck-summary = { $prev } 年已开展项目汇总：共 { $count } 项
ck-none-selected = 还没有勾选任何项目。请至少勾选一项（实验室开展的所有检验项目都要勾选）。
ck-submit = ✅ 确认提交
ck-edit = ✏️ 返回修改
ck-done = 第一步已提交：{ $prev } 年已开展项目 { $count } 项。截止前仍可修改。
ck-extra-button = ➕ 列表中没有的项目（{ $count }）
ck-extra-intro =
    列表中没有的检验项目：请直接输入项目名称（可一次输入多个，用顿号或换行分开），{ $prev } 年开展的都请填上，最多 { $max } 项。
    点“✖ 名称”可删除。
ck-extra-empty = 还没有添加。
ck-extra-list = 已添加：{ $list }
ck-extra-line = • 列表外项目（{ $count }）：{ $list }
ck-extra-group = 列表外项目
ck-extra-refused = ⚠️ “{ $name }”没有添加（这次输入的都没有添加）：{ $reason }
ck-extra-emoji = 项目名称不能包含表情符号，请删除后重新输入。
ck-extra-too-many = ⚠️ 列表外项目最多 { $max } 项，这次输入的没有添加。请先删除不需要的，或把同类项目合并填写。
ck-extra-in-catalogue = 已在列表中，已为您勾选：{ $list }

plan-title-lab_info = 本室信息
plan-title-invoice = 开票信息
plan-title-mailing = 邮寄信息
plan-title-specialties = 请选择 { $year } 年参加的专业（已选 { $count } 个），点一下勾选或取消：
plan-check-hint = 请逐项核对；有误点“✏️”修改，无误点“下一步”。
plan-mail-address-hint = 📦 邮寄地址用的是本单位地址：请写到科室（如“门诊楼 3 楼检验科”），便于快递送达，点“✏️ 邮寄地址”补充。
plan-next = 下一步 ▶
plan-f-lab-name = 单位名称
plan-f-lab-address = 地址
plan-f-lab-phone = 电话
plan-f-head = 科室负责人
plan-f-invoice-title = 开票单位名称（发票抬头）
plan-f-taxpayer-id = 纳税人识别号
plan-f-recipient = 收件人
plan-f-mail-phone = 收件人电话
plan-f-mail-address = 邮寄地址
plan-f-postcode = 邮政编码
plan-f-specialties = 参加专业
plan-ask-lab-name = 请输入单位名称（本室所在医疗机构全称）：
plan-ask-lab-address = 请输入本室地址：
plan-ask-lab-phone = 请输入本室联系电话（座机请带区号，例如 0371-12345678，也可填手机）：
plan-ask-head = 请输入科室负责人姓名（缓交协议需要其签字）：
plan-ask-invoice-title = 请输入开票单位名称（发票抬头），以财务部门提供的最新开票信息为准：
plan-ask-taxpayer-id = 请输入纳税人识别号（一般是 18 位统一社会信用代码）：
plan-ask-recipient = 请输入质控品收件人姓名：
plan-ask-mail-phone = 请输入收件人电话（手机，或带区号的座机）：
plan-ask-mail-address = 请输入邮寄地址（写到科室，便于快递送达）：
plan-ask-postcode = 请输入 6 位邮政编码：
plan-mandatory-note = 🔒 按通知要求，贵单位必须参加：{ $names }。
plan-mandatory-warn =
    “{ $name }”是贵单位必须参加的专业：{ $reason }
    确定不参加吗？不参加将在申报中注明，由中心审核时确认。
plan-keep-mandatory = 保留（参加）
plan-drop-mandatory = 仍然不参加（需向中心说明）
plan-declined-note = ⚠️ 未参加的必选专业：{ $names }（已注明，由中心确认）
plan-none-chosen = 请至少选择一个专业。
plan-confirm-title = 请核对 { $year } 年申购信息：
plan-gaps = 还需要补充：{ $items }。请点下面对应的按钮填写。
plan-confirm = ✅ 确认申购
plan-done = 第二步已确认：{ $year } 年室间质评计划申购信息已保存。

doc-title = 第三步：上传签字盖章的《费用缓交协议》和《{ $licence }》
doc-agreement-line = 缓交协议：{ $state }
doc-licence-line = 执业许可证：{ $state }
doc-none = 未上传
doc-pages = 已收到 { $count } 份（{ $fine } 份初查清晰）
doc-valid-until = ，有效期至 { $until }
doc-licence-on-file = 以前已上传，有效期至 { $until }；如无变更可沿用，不必重复上传
doc-licence-kept = 沿用以前上传的许可证（有效期至 { $until }）
doc-licence-expired = 已上传的许可证 { $until } 到期，早于{ $basis ->
        [samples] 质控品发放
       *[deadline] 申报截止
    }，请上传换发后的新证
doc-returned = 中心退回，需要重新上传：{ $items }。其他资料已保留，不用重传。
doc-how = 先点“下载缓交协议”，打印后请科室负责人签字并加盖单位公章，再拍照或扫描上传。建议以“文件”方式发送，图片更清晰。
doc-download = 📄 下载缓交协议（PDF）
doc-send-agreement = 📤 上传签字盖章的协议
doc-send-licence = 📤 上传执业许可证
doc-keep-licence = ✅ 沿用已上传的许可证（无变更）
doc-kept-toast = 已沿用以前上传的许可证
doc-next = ▶ 资料齐全，去提交
doc-pdf-caption = 已为贵单位生成缓交协议，请打印，科室负责人签字并加盖单位公章。
doc-pdf-toast = 协议已发送
doc-pdf-next = 签字盖章后，点下面按钮上传协议照片或扫描件。
doc-back = ↩ 返回资料列表
doc-ask-agreement = 请发送签字并加盖公章的缓交协议：拍照或 PDF 扫描件均可，多页可一次发送多张。建议点📎以“文件”方式发送，更清晰。
doc-ask-licence = 请发送《{ $licence }》（正本或副本）的照片或 PDF 扫描件。
doc-done = ✅ { $kind }已传完
doc-more = ➕ 继续添加
doc-clear = 🗑 清除重传
doc-file-n = 第 { $n } 个文件：
doc-duplicate = 这份文件已经收到过了，不用重复发送。
doc-advice = 已保存，但建议重拍：{ $advice }
doc-ask-valid = 请输入执业许可证有效期的截止日期（例如 2028-12-31）。许可证需要在{ $basis ->
        [samples] 质控品发放日
       *[deadline] 申报截止日
    }（{ $when }）仍然有效。
doc-valid-same = 有效期至 { $until }，没有变化
doc-complete = 资料已齐全。

sub-title = 请确认 { $year } 年申报内容，提交后由中心审核：
sub-lab = 单位：{ $lab }（{ $code }）
sub-tests = 第一步：{ $prev } 年已开展项目 { $count } 项
sub-agreement = 缓交协议：{ $count } 份
sub-licence-new = 执业许可证：本年上传 { $count } 份
sub-licence-kept = 执业许可证：沿用已上传（有效期至 { $until }）
sub-ask = 确认无误请点“提交审核”。
sub-confirm = ✅ 提交审核
sub-incomplete = 还不能提交，还缺：{ $items }。
sub-done = 已提交！回执编号 { $receipt }（{ $at }）。中心审核后，结果会第一时间在这里通知您。回执 PDF 随后发送，请保存。
sub-receipt-caption = 申报回执 { $receipt }

codes-usage = 用法：/codes 实验室编码（主联系人），或 /codes 实验室编码 backup（备用联系人）。
codes-unknown-lab = 没有编码为 { $code } 的实验室。请核对编码，或先导入实验室名单。
codes-issued =
    { $lab }（{ $code }）的绑定码：{ $binding }
    有效期至 { $until }，只能使用一次。请发给该单位联系人：在本助手中发送
    { $link }
    或输入“{ $code } { $binding }”即可绑定。此码只显示这一次。
codes-issued-backup =
    { $lab }（{ $code }）的备用联系人绑定码：{ $binding }
    有效期至 { $until }，只能使用一次。请发给备用联系人：在本助手中发送
    { $link }
    或输入“{ $code } { $binding }”即可绑定。此码只显示这一次。
