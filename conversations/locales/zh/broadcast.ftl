## Reminders, admin broadcasts and the payment notice (ids start with bc-). Every message ends with what to do next.

# -- deadline reminders (to lab contacts) --
bc-reminder-title = 【申报提醒】{ $title }
bc-reminder-left = { $lab }（{ $code }）：请在 { $deadline }前完成申报，还剩 { $days } 天。
bc-reminder-today = { $lab }（{ $code }）：今天（{ $deadline }）是申报的最后一天，请在今天之内完成申报。
bc-reminder-missing = 还缺：{ $items }
bc-reminder-returned = 中心已退回您的申报，需要重新提交：{ $items }
bc-reminder-submit = 资料已经齐全，只差最后一步：提交中心审核。
bc-reminder-consequence = 逾期未完成申报或审核不通过的实验室，不发放本年度室间质评样品。
bc-reminder-next = 请点“继续申报”，从上次停下的地方接着做；有疑问可以直接发文字提问。

# -- what recipients of a broadcast see --
bc-header-broadcast = 【{ $centre }通知】
bc-header-payment =
    【{ $centre } · { $year } 年室间质评缴费通知】
    按“{ $mode }”的约定，现将缴费事宜通知如下：
bc-footer-broadcast = 查看本单位申报进度请点“申报进度”；有疑问可以直接发文字提问，或点“联系中心”。
bc-footer-payment = 如需发票或有疑问，请点“联系中心”。

# -- the admin's composing flow --
bc-compose = 请输入要群发的内容（纯文字，最多 { $limit } 字）。发送后选择对象并预览，确认前不会发出任何消息。放弃请点“取消”。
bc-compose-payment = 请粘贴缴费通知的内容：收费标准、交费时间和方式（可直接粘贴中心的正式通知，最多 { $limit } 字）。发送后选择对象并预览，确认前不会发出任何消息。放弃请点“取消”。
bc-too-long = 内容太长（{ $length } 字），最多 { $limit } 字。请精简后重新发送，或点“取消”。
bc-audience = 这条消息发给谁？请选择对象，下一步会显示人数并预览。
bc-aud-all = 全部单位
bc-aud-unfinished = 未完成申报的单位
bc-aud-status = 按审核状态…
bc-aud-city = 按城市…
bc-aud-type = 按单位类型…
bc-aud-followers = 公众号的全部关注者
bc-pick-status = 选择审核状态：
bc-pick-city = 选择城市：
bc-pick-type = 选择单位类型：
bc-desc-all = 全部单位
bc-desc-unfinished = 未完成申报的单位（未提交或被退回）
bc-desc-status = 审核状态：{ $value }
bc-desc-city = 城市：{ $value }
bc-desc-type = 单位类型：{ $value }
bc-desc-followers = 关注公众号的所有人（已绑定实验室的和尚未绑定的）
bc-preview =
    预览（联系人将收到下面这条消息）：
    ————————
    { $message }
    ————————
    对象：{ $audience }
    共 { $labs } 家单位，{ $people } 位联系人。
    确认无误请点“确认发送”；需要修改请点相应按钮。
bc-preview-none =
    对象：{ $audience }
    共 { $labs } 家单位，但没有可以发送的联系人（未绑定机器人或已屏蔽）。请点“修改对象”换一个对象，或点“取消”。
bc-btn-confirm = ✅ 确认发送（{ $people } 人）
bc-btn-edit-text = ✏️ 修改内容
bc-btn-edit-audience = 👥 修改对象
bc-btn-back = ↩ 返回
bc-btn-cancel = ✖ 取消
bc-cancelled = 已取消，没有发出任何消息。需要时发送 /broadcast 重新开始。
bc-nobody = 这个对象下没有可以发送的联系人，没有发出任何消息。请点“修改对象”换一个对象。

# -- progress and reports (in the admin's chat) --
bc-kind-broadcast = 群发通知
bc-kind-reminder = 截止提醒
bc-kind-payment = 缴费通知
bc-state-sending = 发送中
bc-state-done = 已完成
bc-state-cancelled = 已停止
bc-state-draft = 未开始
bc-progress =
    { $kind } #{ $id } · { $state }
    共 { $total } 位联系人：已发送 { $sent }，失败 { $failed }，已屏蔽 { $blocked }，待发送 { $waiting }。
bc-progress-unconfirmed = 其中 { $count } 条发送时程序中断、无法确认（多半已送达），为避免重复不再补发。
bc-progress-cancelled = 停止后取消未发出的 { $count } 条。
bc-progress-next-sending = 点“刷新”查看最新进度，点“停止发送”可以中止尚未发出的部分。
bc-progress-next-done = 发送已结束。屏蔽机器人的联系人已标记为停用，不会再收到消息；需要时发送 /broadcast 再发一次通知。
bc-btn-refresh = 🔄 刷新
bc-btn-stop = ⏹ 停止发送
bc-unknown = 没有找到这次群发，可能已被删除。发送 /broadcast 可以重新开始。
bc-stopped = 已停止，尚未发出的 { $count } 条消息已取消。
bc-report-unreachable = 另有 { $count } 家未完成申报的单位没有可联系的人（未绑定机器人或已屏蔽），请电话通知。
