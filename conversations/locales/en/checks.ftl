## Field checks (conversations/validators.py) and upload pre-checks (storage/images.py).
## Every message says what is wrong and how to fix it. Keep them short: people read them on a phone.

## Common

val-empty = This can't be empty. Please type it and send again.

## Unified social credit code

val-uscc-length = The unified social credit code has 18 characters; you typed { $length }. Please copy it again from the business or legal-person certificate.
val-uscc-char = Character { $position } of the credit code is “{ $char }”, but the code has only digits and capital letters. Please type it again.
val-uscc-letter = Character { $position } of the credit code is the letter { $char }. The letters I, O, S, V and Z never occur, so it is probably the digit { $suggest }. Please check and type it again.
val-uscc-letter-v = Character { $position } of the credit code is the letter V. The letters I, O, S, V and Z never occur. Please check that character on the certificate and type it again.
val-uscc-checksum = By the rules, the last (check) character of this code should be { $expected }, not { $given }. Please check it; if it matches the certificate, go on — a reviewer will confirm.

## Taxpayer ID

val-taxid-legacy = Saved: this is an old { $length }-character taxpayer ID. If your institution now has an 18-character credit code, please enter that instead.
val-taxid-length = A taxpayer ID is normally the 18-character credit code (old IDs have 15, 17 or 20); you typed { $length }. Please check with your finance department and type it again.
val-taxid-char = Character { $position } of the taxpayer ID is “{ $char }”, but IDs have only digits and letters. Please type it again.

## Phone numbers

val-mobile-format = The mobile number contains “{ $char }”. Please type the 11 digits only, e.g. 13812345678.
val-mobile-length = A mobile number has 11 digits; you typed { $length }. Please check and type it again.
val-mobile-prefix = A mobile number starts with 13–19 and has 11 digits. Please check and type it again.
val-mobile-invalid = { $number } is not in any mobile number range. Please check for a mistyped digit.
val-mobile-landline = That is a landline; we need a mobile number here (for text messages). Please type an 11-digit mobile number.
val-landline-format = We could not read that phone number. Please write “area code-number”, e.g. 0371-12345678, with an extension like 0371-12345678转8001.
val-landline-area = Please add the area code, e.g. 0371-12345678.
val-landline-mobile = That is a mobile number; we need a landline here. Please write “area code-number”, e.g. 0371-12345678, or go back and give a mobile instead.
val-landline-invalid = Area code { $area } followed by a { $digits }-digit number does not exist. Please check the area code and the number of digits (8 in Zhengzhou, 7 in most other cities).
val-landline-kaifeng = Kaifeng's area code 0378 became 0371 in 2020, with a 2 added in front of the old 7-digit numbers: please type { $number } (or check the number and type it again).
val-phone-outside-henan = Saved. Area code { $area } is outside Henan; if that is a mistake, type the number again.
val-phone-format = We could not read that number. Please type an 11-digit mobile number or a landline as “area code-number”, e.g. 0371-12345678.

## Postcode

val-postcode-format = A postcode has 6 digits, e.g. 450052. Please type it again.
val-postcode-outside-henan = Saved. Postcode { $postcode } is outside Henan (Henan's start with 45, 46 or 47); if that is a mistake, type it again.

## Dates

val-date-format = We could not read that date. Please write year-month-day, e.g. 2025-02-25 or 2025年2月25日.
val-date-year = The year { $year } is not right. Please write a 4-digit year, e.g. 2025-02-25.
val-date-month = The month must be 1–12; you typed { $month }. Please type the date again.
val-date-day = Month { $month } of { $year } has only { $max } days, so day { $day } does not exist. Please type the date again.
val-licence-order = The end of validity ({ $valid_to }) must be after its start ({ $valid_from }). Please copy both dates from the practice licence again.
val-licence-expires = The practice licence expires on { $valid_to }, before { $basis ->
        [samples] samples are sent
       *[deadline] the registration deadline
    } on { $must_cover }. Please renew the licence first, then upload the new one.
val-licence-not-yet-valid = Saved. The licence starts on { $valid_from }, after { $basis ->
        [samples] samples are sent
       *[deadline] the registration deadline
    } on { $must_cover }; please check the year.

## Free text

val-text-too-short = Too short: at least { $min } characters, please. Please fill it in completely.
val-text-too-long = Too long: at most { $max } characters, you typed { $length }. Please shorten it and send again.
val-text-no-letters = That is only symbols. Please type words.
val-text-emoji = This goes on invoices or envelopes, so it can't contain emoji. Please remove them and send again.
val-name-too-short = A name needs at least { $min } characters. Please type the full name.
val-name-too-long = A name has at most { $max } characters. Please check and type it again.
val-name-chars = A name can't contain “{ $char }”: only Chinese characters or letters (and “·” in names such as 买买提·艾力). Please type it again.

## Upload pre-checks: refusals (the file cannot be used; the user must send another)

pre-empty = The file we received is empty. Please send it again.
pre-too-big = The file is larger than { $max_mb } MB and can't be accepted. Please compress it, or just send a photo.
pre-gif = That is a GIF animation, which can't be reviewed. Please send a photo or a PDF scan.
pre-heic = That is a HEIC image (iPhone original), which we can't open. Please send it as a photo, or set the camera to “Most Compatible” and take it again.
pre-office-document = That is a Word/Excel document. We need the signed and stamped paper: please send a photo or a PDF scan of it.
pre-unsupported-image = This image format ({ $kind }) can't be reviewed. Please send a photo (JPG/PNG) or a PDF scan.
pre-unknown-format = We can't recognise this file: it is not a picture or a PDF. Please send a photo or a PDF scan.
pre-bomb = The image has absurdly large dimensions and can't be processed. Please take a photo with your phone and send that.
pre-corrupt = The image is damaged or incomplete and can't be opened. Please take the photo again and send it.
pre-pdf-encrypted = The PDF is password-protected or encrypted and can't be opened. Please send an unencrypted scan, or a photo.
pre-pdf-corrupt = The PDF is damaged and can't be opened. Please scan it again, or send a photo.
pre-pdf-empty = The PDF has no pages. Please scan it again, or send a photo.

## Upload pre-checks: advice (the file is kept; a reviewer decides)

pre-looks-fine = Received. A first check says it is clear and readable.
pre-low-resolution = The picture is small ({ $width }×{ $height } pixels) and may be hard to read. Take it again from closer, or send the original as a file.
pre-blurry = The picture looks blurred; the text may be hard to read. Hold the phone steady, let it focus and take it again.
pre-no-seal = We could not see a red official seal. If the agreement is stamped, ignore this; otherwise stamp it and take the photo again.
pre-blank-agreement = This is the blank agreement downloaded from this bot. Please print it, have the department head sign it, stamp it with the official seal, then send a photo or scan.
pre-rotated = The picture was turned upright using its orientation tag.
pre-pdf-unreadable = This PDF could not be read ({ $reason }). Nothing was saved. Please export or scan it again, or send a photo.
pre-huge-image = The image has too many pixels to be checked. Please send a photo taken with your phone, or scan again at a lower resolution (e.g. 300 dpi).
pre-pdf-active = The PDF contains executable content (JavaScript or a launch action)
