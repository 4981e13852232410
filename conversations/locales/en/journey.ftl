## The lab contact's journey: binding, new-lab application, the three steps, documents, submission.

form-current = Current value: { $value }
form-keep = Keep it
form-skip = Skip
form-empty = (not filled in)
form-use-buttons = Please choose with the buttons below.

journey-unbound = Link your laboratory first: registered labs use the code the centre sent; new labs tap “Register a new lab”.
journey-locked-submitted = Your registration is submitted and awaiting the centre's review; it cannot be changed now. You will hear the result here at once; to change something, ask the centre to return it.
journey-locked-approved = Your registration is approved and can no longer be changed. For changes, contact the centre.
journey-locked-returned = The centre did not ask to change this item; it stays as it is. Please redo only the items named in the return.

bind-ask =
    Type the lab code and the binding code, separated by a space, e.g.:
    HN0001 ABCD-2345
    The centre issues binding codes; each works once. Labs new to the programme tap “Register a new lab”.
bind-format = I could not read that. Type “lab code, space, binding code”, e.g. HN0001 ABCD-2345.
bind-wrong = The lab code or binding code is wrong (or the code was used or has expired). { $left } attempts left; please check the centre's notice and try again.
bind-locked = Too many failed attempts: for your account's safety, try again after { $until }. If the code is lost, ask the centre for a new one:
bind-done = Linked! You are now a contact of { $lab } ({ $code }). Tap “Continue” and I will guide you step by step.
bind-done-backup = Linked! You are now the backup contact of { $lab } ({ $code }); reminders reach you too when the main contact does not react.

app-intro = New laboratory registration: first the eligibility check, then the institution's details. Each answer is saved as you go.
app-ask-type = Choose the type of institution:
app-ask-level = Choose the institution's grade:
app-ask-name = Type the institution's full name, as on the practice licence:
app-ask-city = Choose the city:
app-ask-licence-no = Type the registration number of your licence (a hospital's Medical Institution Practice Licence, a blood station's Blood Station Practice Licence, a plasma station's Plasma Collection Licence):
app-ask-valid-from = Type the date the licence is valid from (e.g. 2020-05-01):
app-ask-valid-to = Type the date the licence is valid until (e.g. 2030-04-30):
app-ask-credit-code = Type the institution's 18-character unified social credit code:
app-ask-address = Type the institution's address:
app-ask-contact = Type the contact person's name:
app-ask-mobile = Type the contact's mobile number (the centre sends account details by SMS after approval):
app-f-type = Institution type
app-f-level = Grade
app-f-name = Name
app-f-city = City
app-f-licence-no = Licence number
app-f-valid-from = Licence valid from
app-f-valid-to = Licence valid until
app-f-credit-code = Unified social credit code
app-f-address = Address
app-f-contact = Contact
app-f-mobile = Mobile
app-ineligible = Sorry, this institution cannot take part: { $reason }
    If the type was chosen by mistake, choose again, or contact the centre:
app-choose-again = Choose again
app-review = Please check the details and submit:
app-submit = ✅ Submit the application
app-submitted = The application for “{ $name }” is submitted. Once the centre approves it you will be told here, with your lab code, and can start the registration.
app-pending = The application for “{ $name }” is awaiting the centre's review; you will be told the result here.
app-already-bound = You are already linked to a laboratory; no need to register. Tap “Continue”.
app-closed = Registration has closed; new laboratory applications can no longer be submitted.

ck-overview =
    Step 1: tick every test your laboratory performed in { $prev } (for the participation and pass rates of public-hospital performance assessment).
    Tap a specialty to tick its tests; { $count } ticked so far. Ticks are saved as you go and can be changed until the deadline.
ck-specialty = { $name }: tests performed in { $prev } ({ $count }/{ $total } ticked)
ck-page = Page { $page }/{ $pages }
ck-all = All
ck-none = None
ck-prev = ◀ Previous
ck-next = Next ▶
ck-back = ↩ Back to specialties
ck-review = ✅ Review and submit
ck-summary = Tests performed in { $prev }: { $count } in total
ck-none-selected = Nothing ticked yet. Tick at least one test (every test the laboratory performs).
ck-submit = ✅ Submit
ck-edit = ✏️ Change
ck-done = Step 1 submitted: { $count } tests performed in { $prev }. You can still change it until the deadline.
ck-extra-button = ➕ Tests not in the list ({ $count })
ck-extra-intro =
    Tests not in the list: type their names (several at once, separated by commas or new lines); add every test performed in { $prev }, at most { $max }.
    Tap “✖ name” to remove one.
ck-extra-empty = None added yet.
ck-extra-list = Added: { $list }
ck-extra-line = • Tests not in the list ({ $count }): { $list }
ck-extra-group = Tests not in the list
ck-extra-refused = ⚠️ “{ $name }” was not added (nothing you typed this time was): { $reason }
ck-extra-emoji = A test's name can't contain emoji; please remove them and type it again.
ck-extra-too-many = ⚠️ At most { $max } tests not in the list; nothing you typed this time was added. Remove what is not needed, or group similar tests.
ck-extra-in-catalogue = Already in the list, ticked for you: { $list }

plan-title-lab_info = Lab details
plan-title-invoice = Invoicing details
plan-title-mailing = Mailing details
plan-title-specialties = Choose the { $year } specialties ({ $count } chosen); tap to tick or untick:
plan-check-hint = Check each line; tap “✏️” to correct one, or “Next” if all is right.
plan-mail-address-hint = 📦 The mailing address is the institution's: please add the department (e.g. “Outpatient building, 3rd floor, clinical laboratory”) so the courier finds it; tap “✏️ Mailing address”.
plan-next = Next ▶
plan-f-lab-name = Name
plan-f-lab-address = Address
plan-f-lab-phone = Phone
plan-f-head = Head of department
plan-f-invoice-title = Invoice title
plan-f-taxpayer-id = Taxpayer ID
plan-f-recipient = Recipient
plan-f-mail-phone = Recipient's phone
plan-f-mail-address = Postal address
plan-f-postcode = Postcode
plan-f-specialties = Specialties
plan-ask-lab-name = Type the name of the institution the lab belongs to:
plan-ask-lab-address = Type the lab's address:
plan-ask-lab-phone = Type the lab's phone (landline with area code, e.g. 0371-12345678, or a mobile):
plan-ask-head = Type the name of the head of department (who signs the agreement):
plan-ask-invoice-title = Type the invoice title, as your finance department gives it:
plan-ask-taxpayer-id = Type the taxpayer ID (usually the 18-character unified social credit code):
plan-ask-recipient = Type the name of the person who receives the samples:
plan-ask-mail-phone = Type the recipient's phone (mobile, or landline with area code):
plan-ask-mail-address = Type the postal address (down to the department, for the courier):
plan-ask-postcode = Type the 6-digit postcode:
plan-mandatory-note = 🔒 The notice requires your institution to take part in: { $names }.
plan-mandatory-warn =
    “{ $name }” is mandatory for your institution: { $reason }
    Really leave it out? The registration will say so and the centre will decide.
plan-keep-mandatory = Keep it (take part)
plan-drop-mandatory = Leave it out (explain to the centre)
plan-declined-note = ⚠️ Mandatory specialties left out: { $names } (noted for the centre)
plan-none-chosen = Choose at least one specialty.
plan-confirm-title = Please check the { $year } plan:
plan-gaps = Still needed: { $items }. Tap the matching button below.
plan-confirm = ✅ Confirm the plan
plan-done = Step 2 confirmed: your { $year } EQA plan is saved.

doc-title = Step 3: upload the signed and stamped fee-deferral agreement and the { $licence }
doc-agreement-line = Agreement: { $state }
doc-licence-line = Practice licence: { $state }
doc-none = not uploaded
doc-pages = { $count } received ({ $fine } clear at first check)
doc-valid-until = , valid until { $until }
doc-licence-on-file = on file, valid until { $until }; if unchanged you may keep it instead of uploading again
doc-licence-kept = keeping the licence on file (valid until { $until })
doc-licence-expired = the licence on file expires on { $until }, before { $basis ->
        [samples] samples go out
       *[deadline] the registration deadline
    }: upload the renewed licence
doc-returned = Returned by the centre — upload again: { $items }. Everything else is kept.
doc-how = Tap “Download the agreement”, print it, have the head of department sign it and stamp it with the official seal, then photograph or scan it. Sending it as a file keeps it sharp.
doc-download = 📄 Download the agreement (PDF)
doc-send-agreement = 📤 Upload the signed agreement
doc-send-licence = 📤 Upload the practice licence
doc-keep-licence = ✅ Keep the licence on file (unchanged)
doc-kept-toast = Keeping the licence on file
doc-next = ▶ All there — go to submission
doc-pdf-caption = Your lab's fee-deferral agreement: print it, have it signed by the head of department and stamped with the official seal.
doc-pdf-toast = Agreement sent
doc-pdf-next = Once it is signed and stamped, tap below to upload a photo or scan.
doc-back = ↩ Back to the documents
doc-ask-agreement = Send the signed and stamped agreement: photos or a PDF scan; several pages can go at once. Sending as a file (📎) keeps it sharp.
doc-ask-licence = Send a photo or PDF scan of the { $licence }.
doc-done = ✅ { $kind } complete
doc-more = ➕ Add more
doc-clear = 🗑 Clear and start again
doc-file-n = File { $n }:
doc-duplicate = This file was received already; no need to send it again.
doc-advice = Saved, but better retake it: { $advice }
doc-ask-valid = Type the date the licence is valid until (e.g. 2028-12-31). It must still be valid { $basis ->
        [samples] when the samples go out
       *[deadline] at the registration deadline
    } ({ $when }).
doc-valid-same = Valid until { $until }, unchanged
doc-complete = All documents are there.

sub-title = Please confirm your { $year } registration; the centre reviews it after you submit:
sub-lab = Lab: { $lab } ({ $code })
sub-tests = Step 1: { $count } tests performed in { $prev }
sub-agreement = Agreement: { $count } file(s)
sub-licence-new = Practice licence: { $count } file(s) uploaded this year
sub-licence-kept = Practice licence: kept on file (valid until { $until })
sub-ask = If all is right, tap “Submit for review”.
sub-confirm = ✅ Submit for review
sub-incomplete = Not ready to submit yet; still missing: { $items }.
sub-done = Submitted! Receipt { $receipt } ({ $at }). You will hear the centre's decision here as soon as it is made. The receipt PDF follows; please keep it.
sub-receipt-caption = Registration receipt { $receipt }

codes-usage = Usage: /codes lab-code (main contact), or /codes lab-code backup (backup contact).
codes-unknown-lab = There is no lab with code { $code }. Check the code, or import the roster first.
codes-issued =
    Binding code for { $lab } ({ $code }): { $binding }
    Valid until { $until }, single use. Send it to the lab's contact: in this chat they send
    { $link }
    or type “{ $code } { $binding }” to link. This code is shown only once.
codes-issued-backup =
    Backup-contact binding code for { $lab } ({ $code }): { $binding }
    Valid until { $until }, single use. Send it to the backup contact: in this chat they send
    { $link }
    or type “{ $code } { $binding }” to link. This code is shown only once.
