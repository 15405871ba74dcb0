// Passwordless sign-in with a phone number and a code by SMS, with AWS Amplify JS v6,
// against the user pool and app client of a deployed cognito-sms-otp stack.
import { Amplify } from 'aws-amplify';
import { confirmSignIn, fetchAuthSession, signIn, signOut, signUp } from 'aws-amplify/auth';

const element = (id) => document.getElementById(id);
// The template's defaults, for a configuration that does not give the stack's own.
const settings = { otpLength: 6, minSecondsBetweenMessages: 30, phoneTexts: '' };
let phoneNumber = '';
let resendTimer = 0;

// The stack's outputs: from the query string (?userPoolId=…&userPoolClientId=…), else from
// config.json beside this page. userPoolEndpoint is only for an emulator (http://127.0.0.1:PORT);
// Amplify reads the region from the pool id (us-east-1_AbCdEf). otpLength and
// minSecondsBetweenMessages are the stack's OtpLength and MinSecondsBetweenMessages; phoneTexts
// is where the sandbox serves the texts of test mode.
async function loadConfig() {
  const query = new URLSearchParams(window.location.search);
  let source = Object.fromEntries(query);
  if (!query.has('userPoolId')) {
    const response = await fetch('config.json');
    if (!response.ok) throw new Error('put config.json beside this page, or give ?userPoolId=…&userPoolClientId=…');
    source = await response.json();
  }
  const { userPoolId, userPoolClientId, userPoolEndpoint, otpLength, minSecondsBetweenMessages, phoneTexts } = source;
  if (!userPoolId || !userPoolClientId) throw new Error('The configuration needs userPoolId and userPoolClientId.');
  if (Number(otpLength) > 0) settings.otpLength = Number(otpLength);
  if (minSecondsBetweenMessages !== undefined && Number(minSecondsBetweenMessages) >= 0) {
    settings.minSecondsBetweenMessages = Number(minSecondsBetweenMessages);
  }
  settings.phoneTexts = phoneTexts || '';
  return { userPoolId, userPoolClientId, ...(userPoolEndpoint && { userPoolEndpoint }) };
}

// An error whose message is already the sentence to show.
class UserError extends Error {}

// The number in E.164, as the triggers want it: people write spaces, dashes, dots and parentheses,
// and sometimes the trunk prefix after the country code (+44 (0)20 …).
function normalisePhoneNumber(typed) {
  const compact = typed.trim().replace('(0)', '').replace(/[\s().-]/g, '');
  if (!/^\+[1-9][0-9]{6,14}$/.test(compact)) {
    throw new UserError('Enter your phone number with its country code, such as +1 415 555 0123.');
  }
  return compact;
}

// Cognito's SignUp requires a password even for passwordless users: a long random one that nobody keeps.
function throwAwayPassword() {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  return btoa(String.fromCharCode(...bytes)) + 'aA1!';
}

// Where only administrators create accounts (SelfSignUp=false), Cognito refuses every signUp.
const signUpIsClosed = (error) => error.name === 'NotAuthorizedException' && /SignUp is not permitted/i.test(error.message);

// Create the account if it is new, then send a code. An existing account just signs in, and so
// does everyone where sign-up is closed (an unknown number then gets no code, as in any sign-in).
async function signUpAndSendCode() {
  try {
    await signUp({
      username: phoneNumber,
      password: throwAwayPassword(),
      options: { userAttributes: { phone_number: phoneNumber } },
    });
  } catch (error) {
    if (error.name !== 'UsernameExistsException' && !signUpIsClosed(error)) throw error;
  }
  const destination = await sendCode();
  show('code-step', `We sent a code to ${destination}.`);
}

// Start a sign-in: Cognito sends a code by SMS. A new signIn is also how a person asks for
// a new code; the send limits apply to it, so it is offered only after MinSecondsBetweenMessages.
async function sendCode() {
  const { nextStep } = await signIn({ username: phoneNumber, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
  if (nextStep.signInStep !== 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE') throw new Error(`Unexpected step ${nextStep.signInStep}.`);
  offerNewCodeAfter(settings.minSecondsBetweenMessages);
  return nextStep.additionalInfo.CODE_DELIVERY_DESTINATION;
}

async function sendNewCode() {
  const destination = await sendCode();
  show('code-step', `We sent a new code to ${destination}; the one before no longer works.`);
}

// "Send a new code" appears once the stack would send one, with a countdown until then.
function offerNewCodeAfter(seconds) {
  clearInterval(resendTimer);
  const offerAt = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((offerAt - Date.now()) / 1000);
    element('resend').hidden = left > 0;
    element('resend-wait').hidden = left <= 0;
    element('resend-wait').textContent = `You can ask for a new code in ${left} s.`;
    if (left <= 0) clearInterval(resendTimer);
  };
  tick();
  resendTimer = setInterval(tick, 250);
}

// Answer the challenge with the code. A wrong code with attempts left comes back as the same
// challenge (the code does not change); too many wrong codes, or an expired one, throw NotAuthorizedException.
async function answer(typed) {
  // A code of the wrong length would spend one of the attempts: refuse it here.
  if (!/^[0-9]+$/.test(typed) || typed.length !== settings.otpLength) {
    element('code').value = '';
    showError(`The code is ${settings.otpLength} digits: type it again.`);
    return;
  }
  const { isSignedIn } = await confirmSignIn({ challengeResponse: typed });
  if (!isSignedIn) {
    element('code').value = '';
    showError('That code is not right. Please try again.');
    return;
  }
  clearInterval(resendTimer);
  const { tokens } = await fetchAuthSession();
  element('claims').textContent = JSON.stringify({ idToken: tokens.idToken.payload, accessToken: tokens.accessToken.payload }, null, 2);
  show('signed-in', `Signed in as ${tokens.idToken.payload.phone_number}.`);
}

// A trigger's own sentence, written for the person: AWS reports it as "<Trigger> failed with error <text>";
// the emulator passes on the function's error, "… {'errorMessage': '<text>', 'errorType': …}".
function triggerSentence(message) {
  const marker = 'failed with error ';
  if (message.includes(marker)) return message.split(marker).pop().trim();
  const match = /["']errorMessage["']\s*:\s*(["'])((?:\\.|(?!\1)[^\\])*)\1/.exec(message);
  return match ? match[2].replace(/\\(.)/g, '$1') : null;
}

// What each error means for the person signing in (the guide's table "What each error means for the UI").
function describe(error) {
  if (error instanceof UserError) return error.message;
  const sentence = triggerSentence(String(error.message || ''));
  if (sentence) return sentence;
  switch (error.name) {
    case 'NotAuthorizedException':
      return 'Too many wrong codes, or the code expired. Please ask for a new code.';
    case 'ForbiddenException':
      return 'Too many requests from this address. Please wait a few minutes and try again.';
    case 'TooManyRequestsException':
    case 'LimitExceededException':
      return 'Too many requests right now. Please wait a little and try again.';
    case 'InvalidParameterException':
      return 'Enter your phone number with its country code, such as +1 415 555 0123.';
    case 'NetworkError':
      return 'The sign-in service cannot be reached. Check your connection and try again.';
    default:
      console.error(error);
      return 'Something went wrong. Please try again.';
  }
}

function show(step, status) {
  for (const id of ['phone-step', 'code-step', 'signed-in']) element(id).hidden = id !== step;
  if (step !== 'code-step') clearInterval(resendTimer);
  element('status').textContent = status;
  element('code').value = '';
  showError('');
}

function showError(text) {
  element('error').textContent = text;
  element('error').hidden = !text;
}

// Run one step with the buttons disabled. Any error ends the sign-in in progress (Amplify forgets it
// when a signIn is refused, and Cognito when the attempts run out): go back to the phone number,
// say what happened (`afterError`) and why.
async function run(step, afterError) {
  const buttons = document.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  showError('');
  try {
    await step();
  } catch (error) {
    show('phone-step', afterError);
    showError(describe(error));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

element('phone-step').addEventListener('submit', (event) => {
  event.preventDefault();
  run(async () => {
    phoneNumber = normalisePhoneNumber(element('phone').value);
    element('phone').value = phoneNumber;
    await signUpAndSendCode();
  }, 'No code was sent.');
});
element('code-step').addEventListener('submit', (event) => {
  event.preventDefault();
  run(() => answer(element('code').value.trim()), 'This code can no longer be used. Enter your phone number to get a new code.');
});
element('resend').addEventListener('click', () =>
  run(sendNewCode, 'No new code was sent, and the one before can no longer be used. Enter your phone number to try again.'),
);
element('sign-out').addEventListener('click', () => run(async () => {
  await signOut();
  show('phone-step', 'Signed out.');
}, 'Signing out failed.'));

// Test mode in the sandbox: the texts the stack sent, as a phone beside the page would show them.
async function followPhoneTexts() {
  element('phone-panel').hidden = false;
  let shown = 0;
  for (;;) {
    try {
      const response = await fetch(settings.phoneTexts, { cache: 'no-store' });
      const texts = response.ok ? await response.json() : [];
      for (const text of texts.slice(shown)) element('texts').append(phoneText(text));
      shown = Math.max(shown, texts.length);
    } catch {
      // The sandbox stopped or is restarting: keep asking.
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function phoneText({ text, recipient, triggerSource, sentAt }) {
  const item = document.createElement('li');
  item.dataset.recipient = recipient;
  item.dataset.triggerSource = triggerSource;
  const meta = document.createElement('p');
  meta.className = 'meta';
  meta.textContent = `${new Date(sentAt * 1000).toLocaleTimeString()} · to ${recipient} · ${triggerSource}`;
  const body = document.createElement('p');
  body.className = 'body';
  body.textContent = text;
  item.append(meta, body);
  return item;
}

try {
  Amplify.configure({ Auth: { Cognito: await loadConfig() } });
  show('phone-step', 'Enter your phone number to sign in or sign up.');
  if (settings.phoneTexts) followPhoneTexts();
} catch (error) {
  showError(`Cannot load the configuration: ${error.message}`);
}
