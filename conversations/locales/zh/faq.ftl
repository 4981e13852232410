# The FAQ: free-text questions, computed parts of answers, votes and the admins' view of them.
# (The older faq-* messages live in core.ftl.)

faq-out-of-scope = 本助手只解答{ $centre }组织的 { $year } 年室间质量评价申报问题，不能代答其他省份、其他年度或其他机构组织的质评安排，以免误导您。如需帮助，请联系中心：
faq-bind-to-see = 绑定实验室后，这里还会显示您单位自己的情况（许可证、审核状态、还缺的材料）。
faq-missing = 您单位还缺：{ $items }。
faq-ready-to-submit = 您单位三步都已完成，材料齐全，可以提交中心审核了。
faq-vote-recorded = 已经记录过您对这条回答的反馈，谢谢！
faq-votes-empty = 还没有收到任何常见问题反馈。
faq-votes-title = 常见问题反馈：共 { $total } 条，其中“没帮助” { $unhelpful } 条。
faq-votes-row = · { $topic }：👍 { $up }  👎 { $down }
faq-votes-latest = 最近 { $count } 条“没帮助”的提问：
faq-votes-latest-row = · { $when } 【{ $topic }】{ $question }
faq-votes-no-question = （从问题列表点开，没有提问原文）
