## /unbind: an admin removes a person's access to a lab (handlers/admin_unbind.py).

unbind-usage = 用法：/unbind 实验室编码 —— 列出该单位已绑定的人，再选择要解除绑定的一位（例如人员离职或调岗）。
unbind-unknown-lab = 找不到实验室编码“{ $code }”。请核对编码后重试。
unbind-none = { $lab }（{ $code }）目前没有已绑定的人。
unbind-pick = { $lab }（{ $code }）已绑定的人如下，请选择要解除绑定的一位：
unbind-person = { $name }（{ $role }，{ $user }）
unbind-role-main = 联系人
unbind-role-backup = 备用联系人
unbind-confirm = 确定解除 { $name } 与 { $lab }（{ $code }）的绑定吗？解除后 TA 不能再查看或办理该单位的申报；如需恢复，请重新生成绑定码（/codes）发给 TA。
unbind-btn-confirm = ✅ 确认解除
unbind-btn-cancel = 取消
unbind-cancelled = 已取消，绑定没有变化。
unbind-done = 已解除 { $name } 与 { $lab }（{ $code }）的绑定，已记入操作记录。
unbind-already = { $name } 已不是 { $lab }（{ $code }）的联系人，无需解除。
unbind-told = 中心已解除您与 { $lab }（{ $code }）的绑定，您不能再办理该单位的申报。如有疑问，请联系中心。
