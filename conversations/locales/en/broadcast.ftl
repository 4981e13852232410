## Reminders, admin broadcasts and the payment notice (ids start with bc-). Every message ends with what to do next.

# -- deadline reminders (to lab contacts) --
bc-reminder-title = [Reminder] { $title }
bc-reminder-left = { $lab } ({ $code }): please complete registration before { $deadline } — { $days ->
        [one] 1 day left.
       *[other] { $days } days left.
    }
bc-reminder-today = { $lab } ({ $code }): today ({ $deadline }) is the last day to register; please complete it today.
bc-reminder-missing = Still missing: { $items }
bc-reminder-returned = The centre returned your registration; please send again: { $items }
bc-reminder-submit = Everything is in place; one step is left: submit it for the centre's review.
bc-reminder-consequence = Labs that do not complete registration in time, or are not approved, receive no EQA samples this year.
bc-reminder-next = Tap “Continue” to pick up where you left off; you can also type a question.

# -- what recipients of a broadcast see --
bc-header-broadcast = [Notice from the { $centre }]
bc-header-payment = [{ $centre } · { $year } EQA fee notice]
    As agreed (“{ $mode }”), here is how and when to pay:
bc-footer-broadcast = Tap “Progress” to see where your lab stands; type a question or tap “Contact the centre” if anything is unclear.
bc-footer-payment = For invoices or questions, tap “Contact the centre”.

# -- the admin's composing flow --
bc-compose = Type the message to broadcast (plain text, at most { $limit } characters). You choose the recipients and see a preview next; nothing is sent before you confirm. Tap “Cancel” to give up.
bc-compose-payment = Paste the fee notice: the fee schedule, when and how to pay (the centre's official notice as it is, at most { $limit } characters). You choose the recipients and see a preview next; nothing is sent before you confirm. Tap “Cancel” to give up.
bc-too-long = That is too long ({ $length } characters; at most { $limit }). Please shorten it and send it again, or tap “Cancel”.
bc-audience = Who should get this message? Choose the recipients; the next screen shows how many and a preview.
bc-aud-all = All labs
bc-aud-unfinished = Labs not yet finished
bc-aud-status = By review status…
bc-aud-city = By city…
bc-aud-type = By institution type…
bc-aud-followers = Everyone following the official account
bc-pick-status = Choose a review status:
bc-pick-city = Choose a city:
bc-pick-type = Choose an institution type:
bc-desc-all = all labs
bc-desc-unfinished = labs not yet finished (not submitted, or returned)
bc-desc-status = review status: { $value }
bc-desc-city = city: { $value }
bc-desc-type = institution type: { $value }
bc-desc-followers = everyone following the WeChat official account (bound to a lab or not)
bc-preview =
    Preview (this is what contacts will receive):
    ————————
    { $message }
    ————————
    Recipients: { $audience }
    { $labs } labs, { $people } contacts.
    Tap “Send” if it is right; tap a button below to change something.
bc-preview-none =
    Recipients: { $audience }
    { $labs } labs, but no contact can be written to (none linked the bot, or all blocked it). Tap “Change recipients” to choose others, or “Cancel”.
bc-btn-confirm = ✅ Send ({ $people } people)
bc-btn-edit-text = ✏️ Change the text
bc-btn-edit-audience = 👥 Change recipients
bc-btn-back = ↩ Back
bc-btn-cancel = ✖ Cancel
bc-cancelled = Cancelled; nothing was sent. Send /broadcast to start again.
bc-nobody = No contact can be written to among these recipients; nothing was sent. Tap “Change recipients” to choose others.

# -- progress and reports (in the admin's chat) --
bc-kind-broadcast = Broadcast
bc-kind-reminder = Deadline reminder
bc-kind-payment = Fee notice
bc-state-sending = sending
bc-state-done = finished
bc-state-cancelled = stopped
bc-state-draft = not started
bc-progress =
    { $kind } #{ $id } · { $state }
    { $total } contacts: { $sent } sent, { $failed } failed, { $blocked } blocked the bot, { $waiting } waiting.
bc-progress-unconfirmed = { $count } of them were being sent when the program stopped and cannot be confirmed (most likely delivered); they are not sent again, to avoid duplicates.
bc-progress-cancelled = { $count } not yet sent were cancelled.
bc-progress-next-sending = Tap “Refresh” for the latest figures, or “Stop sending” to cancel what has not gone out yet.
bc-progress-next-done = Sending is over. Contacts who blocked the bot are marked inactive and get nothing more; send /broadcast to send another notice.
bc-btn-refresh = 🔄 Refresh
bc-btn-stop = ⏹ Stop sending
bc-unknown = This broadcast cannot be found; it may have been deleted. Send /broadcast to start again.
bc-stopped = Stopped; { $count } messages not yet sent were cancelled.
bc-report-unreachable = { $count } more unfinished labs have no contact the bot can reach (not linked, or blocked); please phone them.
