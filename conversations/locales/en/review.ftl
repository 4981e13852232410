## The centre's side: the reviewer desk (rv-) and administration (adm-).

## Cards and alerts in the reviewers' chat

rv-alert-new = 🔔 New registration to review
rv-alert-new-application = 🔔 New-participant application to review
rv-card-title = { $year } registration · { $lab } ({ $code }) · submission { $revision }
rv-card-lab = Type: { $type } · level: { $level } · city: { $city }
rv-card-contacts = Contacts: { $people }
rv-card-invoice = Invoice title: { $title } · taxpayer ID: { $taxpayer }
rv-card-taxpayer-warning = The credit code's check character does not match; compare it with the certificate.
rv-card-name-differs = The invoice title “{ $title }” differs from the institution's name “{ $name }”; compare with the practice licence.
rv-card-specialties = Specialties ({ $count }): { $list }
rv-card-mandatory-declined = Mandatory specialties declined: { $list }
rv-card-tests = Tests performed in { $prev }: { $count }
rv-card-extra-tests = Tests not in the list ({ $count }): { $list }
rv-card-agreement = Fee-deferral agreement: { $state }
rv-card-licence = Practice licence: { $state }
rv-card-licence-expired = valid until { $until }, expires before { $basis ->
        [samples] the samples go out
       *[deadline] the registration deadline
    }
rv-card-licence-kept = the licence on file from an earlier year (valid until { $until })
rv-card-valid-until = valid until { $until }
rv-card-last-return = Submission { $revision } was returned because:
rv-card-returned-items = To send again: { $items }
rv-docs-count = { $count } file(s)
rv-docs-none = not uploaded
rv-docs-none-sent = { $code } has no documents to show.
rv-doc-caption = { $item } { $n }/{ $total } · { $code }
rv-doc-earlier = from an earlier year
rv-pre-low-resolution = low resolution ({ $width }×{ $height })
rv-pre-blurry = may be blurred
rv-pre-no-seal = no red seal detected
rv-pre-blank-agreement = the blank agreement (not signed or stamped)
rv-state-waiting = ⏳ Awaiting review (submitted { $at })
rv-state-approved = ✅ Approved — { $who }, { $at }
rv-state-returned = ↩ Returned — { $who }, { $at }
rv-state-rejected = ⛔ Not accepted — { $who }, { $at }
rv-state-draft = Not submitted yet
rv-app-title = { $year } new-participant application · { $name } · submission { $revision }
rv-app-duplicate-hint = Possibly a participant already: { $name } ({ $code })
rv-app-lab-code = Lab code assigned: { $code }
rv-robot-submission = [EQA registration] { $lab } ({ $code }) submission { $revision }, { $at }, awaits review in the reviewers' chat.
rv-robot-application = [EQA registration] New-participant application: { $name } ({ $city }), { $at }, awaits review in the reviewers' chat.

## Buttons

rv-btn-approve = ✅ Approve
rv-btn-approve-application = ✅ Approve and assign a code
rv-btn-return = ↩ Return…
rv-btn-docs = 📎 Documents
rv-btn-lab = 📁 Lab file
rv-btn-queue = 📥 Review queue
rv-btn-open-current = 🔎 Open the latest submission
rv-btn-open-this-year = 🔎 Open this year's registration
rv-btn-prev = ◀ Previous
rv-btn-next = Next ▶
rv-btn-bulk = ✅ Approve several…
rv-btn-audit = 🧾 Audit log
rv-btn-export = 📤 Export to Excel
rv-btn-resend = ▶ Send these items again
rv-btn-correct = ✏️ Correct the application

## Decisions

rv-decision-approved = approved
rv-decision-returned = returned
rv-decision-rejected = not accepted
rv-approved-toast = Approved; the lab has been told
rv-returned-toast = Returned; the lab has been told
rv-taken = { $who } already decided on this version of { $name } at { $at } ({ $decision }). The first decision stands; yours changed nothing.
rv-resent = { $name } has been sent again (now submission { $revision }); you were looking at an older version, so nothing changed. Open the latest submission to review it.
rv-incomplete = { $name } lacks the signed and stamped agreement or a valid practice licence. The notice requires both, so it cannot be approved; return it with the reason.
rv-not-pending = { $name } is not awaiting review; nothing changed.
rv-missing = This record cannot be found; nothing changed.
rv-decided-elsewhere = { $who } decided on { $name }: { $decision }.
rv-skip-resent = sent again, skipped
rv-skip-taken = already decided
rv-skip-not-pending = not awaiting review
rv-skip-incomplete = documents incomplete, cannot be approved
rv-skip-missing = not found
rv-skip-outdated = another year, skipped
rv-outdated = The { $year } registration of { $name } is outdated: the desk decides only { $current } registrations, so nothing changed.

## Return with reasons

rv-return-title = Return { $name }
rv-return-hint = Tick the reasons (several allowed); the lab sends again only what they concern:
rv-return-note = Other reason: { $note }
rv-return-other-items = Items the lab must send again for the other reason (several allowed):
rv-return-items = The lab will be asked to send again: { $items }
rv-return-confirm = ↩ Return ({ $count } reason(s))
rv-return-cancel = Cancel
rv-return-cancelled = Cancelled; nothing changed.
rv-return-choose = Choose at least one reason.
rv-returned-done = { $name } returned because:
rv-items-none = nothing (the lab may send again once it has dealt with the reasons)
rv-reason-unsigned = Agreement not signed by the department head
rv-reason-no-seal = Agreement without the official seal
rv-reason-agreement-unreadable = Agreement photo unreadable
rv-reason-licence-unreadable = Licence photo unreadable
rv-reason-licence-missing = Practice licence missing
rv-reason-licence-expired = Practice licence expired
rv-reason-name-mismatch = Institution name on the licence differs from the invoice title
rv-reason-app-info = Application details wrong or incomplete
rv-reason-app-licence = Licence details wrong or expired
rv-reason-app-ineligible = Not eligible to take part
rv-reason-app-duplicate = Already a participant (bind with the centre's code)
rv-reason-other = Other reason (type it)
rv-reason-other-text = Other: { $note }
rv-note-ask = Type the other reason (one sentence on what the lab should do). In a group you can also send: /note reason
rv-note-back = ↩ Back to the reasons
rv-note-clear = 🗑 Clear the other reason
rv-note-nothing = No return is in progress. Press “Return…” on a submission's card.

## What the lab is told

rv-lab-approved =
    🎉 The { $year } EQA registration of { $lab } ({ $code }) has been approved!
    Next: { $samples ->
        [none] when this year's samples go out is announced by the centre (annex 2 of the notice); please watch for the delivery.
       *[other] the centre sends this year's samples as planned from { $samples }; please watch for the delivery.
    }
    Fees: { $fees }
rv-lab-returned = ↩ The centre returned the { $year } registration of { $lab } ({ $code }) for these reasons:
rv-why-unsigned = The agreement must be signed by the department head: sign it, then photograph and send it again.
rv-why-no-seal = The agreement must bear the institution's official seal: stamp it, then photograph and send it again.
rv-why-agreement-unreadable = The agreement photo cannot be read: photograph it again flat and in focus, or send the original or a PDF scan as a file.
rv-why-licence-unreadable = The licence photo cannot be read: photograph it again, or send the original or a PDF scan as a file.
rv-why-licence-missing = The licence is missing: send your institution's valid licence (a hospital's Medical Institution Practice Licence, a blood station's Blood Station Practice Licence, a plasma station's Plasma Collection Licence).
rv-why-licence-expired = The practice licence has expired: send the new licence and its new validity date.
rv-why-name-mismatch = The invoice title differs from the institution's name on the practice licence: check and correct the invoicing details.
rv-why-app-info = The application's details are wrong or incomplete: check and correct them.
rv-why-app-licence = The licence details are wrong or expired: check the registration number and validity.
rv-why-app-ineligible = The institution does not meet the conditions to take part (level-2+ medical institutions, blood-supply labs, hospital transfusion departments; not instrument or reagent makers or sellers).
rv-why-app-duplicate = Your institution already takes part and need not register again: ask the centre for a binding code and use “Bind a lab”.
rv-lab-redo = Send again only: { $items }. Everything else is kept; nothing needs re-typing.
rv-lab-redo-nothing = Deal with the reasons above, then simply send again; everything you entered is kept.
rv-lab-deadline = Please send it again before { $deadline } ({ $days ->
        [0] today is the last day
        [one] 1 day left
       *[other] { $days } days left
    }).
rv-app-approved =
    🎉 The application of “{ $name }” has been approved!
    Lab code: { $code } (now bound to your account).
    You can start the three steps of the { $year } registration; finish them before { $deadline }.
rv-app-returned = ↩ The centre returned the application of “{ $name }” for these reasons:
rv-app-rejected = ⛔ We are sorry: the application of “{ $name }” was not accepted, because:
rv-app-correct = Everything you entered is kept: press the button below to correct it and send it again (before { $deadline }).

## The queue, a lab's file

rv-queue-title = 📥 { $count } awaiting review (oldest first).
rv-queue-empty = 📥 Nothing awaits review.
rv-queue-enrollment = { $code } { $name } · submission { $revision } · { $since }
rv-queue-application = 🆕 { $name } ({ $city }) · { $since }
rv-days-left = { $days ->
        [0] Today is the last day to register.
        [one] 1 day to the deadline.
       *[other] { $days } days to the deadline.
    }
rv-closed = Registration is closed.
rv-lab-usage = Add a lab code or a name: /lab HN0001 or /lab People's Hospital
rv-lab-not-found = Nothing found for “{ $query }”. Check the code or try part of the name.
rv-lab-choose = { $count } labs found; choose one:
rv-file-title = 📁 { $name } ({ $code })
rv-file-credit = Credit code: { $code }
rv-file-licence = Practice licence: { $number }, valid { $start } to { $until }
rv-file-address = Address: { $address }
rv-file-no-contacts = No contacts.
rv-file-not-started = The { $year } registration has not been started.
rv-file-year = { $year } registration: { $state } (submission { $revision })
rv-file-steps = Step 1 { $checklist } · step 2 { $plan } · step 3 { $documents }
rv-file-review = Submission { $revision }: { $decision } — { $who }, { $at }
rv-contact-main = Contact
rv-contact-backup = Backup contact
rv-contact-bound = bound
rv-contact-inactive = inactive
rv-contact-roster = on the roster, not bound yet

## Figures

rv-stats-title = 📊 { $year } registration figures (as of { $at })
rv-stats-deadline = Deadline: before { $deadline }.
rv-stats-labs = Labs:{" "}
rv-stats-total = { $count } in all
rv-stats-approved = approved { $count }
rv-stats-submitted = awaiting review { $count }
rv-stats-returned = returned { $count }
rv-stats-draft = in progress { $count }
rv-stats-none = not started { $count }
rv-stats-applications = New participants: awaiting review { $pending } · approved { $approved } · returned { $returned } · not accepted { $rejected }
rv-stats-by-city = By city:
rv-stats-by-type = By institution type:
rv-stats-specialties = Specialties (plans confirmed / approved):
rv-stats-specialty = • { $name }: { $chosen } / { $approved }

## Bulk approval

rv-bulk-pick = Approve several: tick the registrations to approve ({ $count } awaiting review, page { $page }/{ $pages }). ⚠️ marks pre-check advice: better open those one by one.
rv-bulk-page-all = Tick this page
rv-bulk-review = Next: check ({ $count } ticked)
rv-bulk-choose = Tick at least one.
rv-bulk-confirm = Please confirm approving the registrations of these { $count } labs:
rv-bulk-gone = no longer awaiting review; will be skipped
rv-bulk-do = ✅ Approve { $count }
rv-bulk-change = ✏️ Change the selection
rv-bulk-cancelled = Bulk approval cancelled; nothing changed.
rv-bulk-result = Done: { $approved } approved, { $skipped } skipped.
rv-bulk-not-pending = Not awaiting review, ignored: { $codes }
rv-bulk-nothing = Nothing awaiting review to approve.
rv-bulk-elsewhere = { $who } approved the registrations of { $count } labs.

## Administration: people

adm-myid = Your user ID: { $user } (this chat: { $chat }). To get reviewer rights, send your user ID to an admin.
adm-role-reviewer = reviewer
adm-role-admin = admin
adm-grant-usage = Usage: /grant user-ID [name]. The person sees their user ID by sending /myid.
adm-grant-admin-refused = Only the admins named in the settings may make someone an admin.
adm-grant-granted = { $user } is now a { $role }.
adm-grant-restored = { $user } is a { $role } again.
adm-grant-changed = { $user }'s role is now { $role }.
adm-grant-unchanged = { $user } is already a { $role }.
adm-granted-you = You are now a { $role } of the EQA registration. Send /queue for the review queue, /help for all commands.
adm-revoke-usage = Usage: /revoke user-ID
adm-revoke-settings-admin = { $user } is an admin named in the settings (EQA_ADMIN_IDS) and cannot be revoked in the chat.
adm-revoke-none = { $user } has no reviewer or admin rights; nothing to revoke.
adm-revoked = { $user }'s { $role } rights are withdrawn. From now on their actions (buttons on old messages included) change nothing.
adm-staff-title = 👥 Reviewers:
adm-staff-settings-admin = { $user } · admin (settings)
adm-staff-line = { $user } · { $name } · { $role } · { $state } · since { $since }
adm-staff-active = active
adm-staff-inactive = revoked
adm-staff-none = No reviewers yet.
adm-staff-how = Add: /grant user-ID name   Revoke: /revoke user-ID

## Administration: roster import and binding codes

adm-import-ask =
    Send the roster of labs as an Excel file (.xlsx, at most { $max } rows).
    Required columns: lab code, name, institution type, level, city.
    Optional: contact, mobile, credit code, licence number, licence valid until, address, backup contact, backup mobile.
    Known codes are updated, new ones added; then binding codes are issued for the labs nobody has bound yet.
adm-btn-template = 📄 Download a template
adm-btn-cancel = Cancel
adm-template-caption = Roster template: the first row is the header; one lab per row from the second.
adm-import-cancelled = Import cancelled.
adm-import-done = { $created } added, { $updated } updated, { $unchanged } unchanged.
adm-import-more-problems = …and { $count } more problems, listed in the problem sheet.
adm-report-caption = The problem sheet: each refused row and how to fix it. Correct them and send /import again (rows already imported are not doubled).
adm-codes-issued = { $count } binding code(s) issued (valid until { $until }); see the sheet.
adm-codes-none = Every roster lab is bound or has an open binding code; no new codes were needed.
adm-codes-left = { $count } lab(s) still need a code.
adm-btn-more-codes = 🔑 Issue more codes ({ $count })
adm-codes-sheet = Binding codes
adm-codes-caption = Binding codes ({ $count }, valid until { $until }): send each to the lab's contact (e.g. by SMS); they send the bot the text in the “how to bind” column.
adm-code-main = contact
adm-code-backup = backup contact

## Administration: the export

adm-export-sheet = { $year } registrations
adm-export-caption = Every lab's { $year } registration ({ $count } labs, exported { $at }). Codes, credit codes and phone numbers are text.
adm-yes = yes
adm-col-code = Lab code
adm-col-name = Name
adm-col-type = Institution type
adm-col-level = Level
adm-col-city = City
adm-col-credit = Credit code
adm-col-licence-no = Licence number
adm-col-licence-from = Licence valid from
adm-col-licence-to = Licence valid until
adm-col-address = Address
adm-col-source = Source
adm-col-contact = Contact
adm-col-mobile = Contact mobile
adm-col-backup = Backup contact
adm-col-backup-mobile = Backup mobile
adm-col-bound = People bound
adm-col-status = Status
adm-col-revision = Submissions
adm-col-submitted = Submitted at
adm-col-decided = Decided at
adm-col-decision = Decision
adm-col-reviewer = Reviewer
adm-col-reasons = Reasons for return
adm-col-redo = To send again
adm-col-lab-name = Lab info: name
adm-col-lab-address = Lab info: address
adm-col-lab-phone = Lab info: phone
adm-col-head = Department head
adm-col-invoice-title = Invoice title
adm-col-taxpayer = Taxpayer ID
adm-col-recipient = Recipient
adm-col-recipient-phone = Recipient phone
adm-col-mail-address = Mailing address
adm-col-postcode = Postcode
adm-col-specialty-count = Specialties
adm-col-declined = Mandatory specialties declined
adm-col-tests-count = Tests in { $prev }
adm-col-tests = Tests performed in { $prev }
adm-col-checklist-at = Checklist submitted at
adm-col-plan-at = Plan confirmed at
adm-col-agreement = Fee-deferral agreement
adm-col-licence-doc = Practice licence
adm-col-precheck = Pre-check advice
adm-col-kind = For
adm-col-binding = Binding code
adm-col-how = How to bind (send to the bot)
adm-col-until = Valid until
adm-col-wechat-qr = WeChat scan to bind (valid { $days } days)
adm-code-no-qr = (not made: use the code)
adm-doc-pages = { $count } file(s)
adm-doc-on-file = on file from an earlier year
adm-doc-expired = expired
adm-doc-missing = missing
adm-status-none = not started
adm-status-draft = in progress
adm-status-submitted = awaiting review
adm-status-returned = returned
adm-status-approved = approved
adm-source-roster = roster
adm-source-application = new participant
adm-source-demo = demo

## Administration: the audit log

adm-audit-usage = Usage: /audit lab-code, e.g. /audit HN0001
adm-audit-title = 🧾 Audit log of { $name } ({ $code }): { $total } entries, newest first:
adm-audit-before = before
adm-audit-after = after
adm-audit-empty = No entries.
rv-stats-waiting = Messages waiting for the lab to open the chat: { $count }
