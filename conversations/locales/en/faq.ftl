# The FAQ: free-text questions, computed parts of answers, votes and the admins' view of them.
# (The older faq-* messages live in core.ftl.)

faq-out-of-scope = This assistant only answers questions about the { $year } EQA registration run by the { $centre }. It cannot speak for other provinces, other years or other organisers, so as not to mislead you. For help, contact the centre:
faq-bind-to-see = Once you have linked your lab, this answer also shows your own lab's situation (licence, review state, what is still missing).
faq-missing = Your lab still needs: { $items }.
faq-ready-to-submit = Your lab has completed all three steps; everything is there and you can submit it for review.
faq-vote-recorded = Your feedback on this answer is already recorded, thank you!
faq-votes-empty = No FAQ feedback yet.
faq-votes-title = FAQ feedback: { $total } votes, { $unhelpful } of them “not helpful”.
faq-votes-row = · { $topic }: 👍 { $up }  👎 { $down }
faq-votes-latest = The latest { $count } “not helpful” questions:
faq-votes-latest-row = · { $when } [{ $topic }] { $question }
faq-votes-no-question = (opened from the topic list, no question typed)
