// Passwordless sign-in with a phone number and a code by SMS, with AWS Amplify JS v6,
// against the user pool and app client of a deployed cognito-sms-otp stack.
import { Amplify } from 'aws-amplify';
import { confirmSignIn, fetchAuthSession, signIn, signOut, signUp } from 'aws-amplify/auth';

const element = (id) => document.getElementById(id);
let phoneNumber = '';

// The stack's outputs: from the query string (?userPoolId=…&userPoolClientId=…), else from
// config.json beside this page. userPoolEndpoint is only for an emulator (http://127.0.0.1:PORT);
// Amplify reads the region from the pool id (us-east-1_AbCdEf).
async function loadConfig() {
  const query = new URLSearchParams(window.location.search);
  let source = Object.fromEntries(query);
  if (!query.has('userPoolId')) {
    const response = await fetch('config.json');
    if (!response.ok) throw new Error('put config.json beside this page, or give ?userPoolId=…&userPoolClientId=…');
    source = await response.json();
  }
  const { userPoolId, userPoolClientId, userPoolEndpoint } = source;
  if (!userPoolId || !userPoolClientId) throw new Error('The configuration needs userPoolId and userPoolClientId.');
  return { userPoolId, userPoolClientId, ...(userPoolEndpoint && { userPoolEndpoint }) };
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
  await sendCode();
}

// Start a sign-in: Cognito sends a code by SMS. A new signIn is also how a person asks for
// a new code; the send limits apply to it.
async function sendCode() {
  const { nextStep } = await signIn({ username: phoneNumber, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
  if (nextStep.signInStep !== 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE') throw new Error(`Unexpected step ${nextStep.signInStep}.`);
  show('code-step', `We sent a code to ${nextStep.additionalInfo.CODE_DELIVERY_DESTINATION}.`);
}

// Answer the challenge with the code. A wrong code with attempts left comes back as the same
// challenge (the code does not change); too many wrong codes, or an expired one, throw NotAuthorizedException.
async function answer(code) {
  const { isSignedIn } = await confirmSignIn({ challengeResponse: code });
  if (!isSignedIn) {
    element('code').value = '';
    showError('That code is not right. Please try again.');
    return;
  }
  const { tokens } = await fetchAuthSession();
  element('claims').textContent = JSON.stringify({ idToken: tokens.idToken.payload, accessToken: tokens.accessToken.payload }, null, 2);
  show('signed-in', `Signed in as ${tokens.idToken.payload.phone_number}.`);
}

// What each error means for the person signing in.
function describe(error) {
  if (error.name === 'NotAuthorizedException') return 'Too many wrong codes, or the code expired. Please ask for a new code.';
  // A trigger's own sentence: an invalid phone number, or a send limit or lockout with when to try again.
  if (error.name === 'UserLambdaValidationException') return error.message.split('failed with error ').pop();
  return error.message;
}

function show(step, status) {
  for (const id of ['phone-step', 'code-step', 'signed-in']) element(id).hidden = id !== step;
  element('status').textContent = status;
  element('code').value = '';
  showError('');
}

function showError(text) {
  element('error').textContent = text;
  element('error').hidden = !text;
}

// Run one step with the buttons disabled. Any error ends the sign-in in progress (Amplify forgets it
// when a signIn is refused, and Cognito when the attempts run out): show why, and start again.
async function run(step) {
  const buttons = document.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  showError('');
  try {
    await step();
  } catch (error) {
    show('phone-step', 'Enter your phone number to get a new code.');
    showError(describe(error));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

element('phone-step').addEventListener('submit', (event) => {
  event.preventDefault();
  phoneNumber = element('phone').value.trim();
  run(signUpAndSendCode);
});
element('code-step').addEventListener('submit', (event) => {
  event.preventDefault();
  run(() => answer(element('code').value.trim()));
});
element('resend').addEventListener('click', () => run(sendCode));
element('sign-out').addEventListener('click', () => run(async () => {
  await signOut();
  show('phone-step', 'Signed out.');
}));

try {
  Amplify.configure({ Auth: { Cognito: await loadConfig() } });
  show('phone-step', 'Enter your phone number to sign in or sign up.');
} catch (error) {
  showError(`Cannot load the configuration: ${error.message}`);
}
