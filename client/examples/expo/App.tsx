// A sign-in screen and a home screen: the client restores the stored session at start, refreshes
// the access token unseen, and the screen follows its state.
import { useState } from "react";
import { Button, Text, TextInput, View } from "react-native";
import { AuthError } from "jwt-auth-server-client";
import { AuthProvider, useAuth } from "jwt-auth-server-client/react";

import { auth } from "./auth";

export default function App() {
  return (
    <AuthProvider client={auth}>
      <Root />
    </AuthProvider>
  );
}

function Root() {
  const { status } = useAuth();
  if (status === "loading") return null; // reading secure storage: a splash screen
  return status === "signedIn" ? <Home /> : <SignIn />;
}

function messageOf(error: unknown): string {
  return error instanceof AuthError ? error.message : "Something went wrong.";
}

function SignIn() {
  const { login, signup } = useAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState("");
  const show = (error: unknown) => setMessage(messageOf(error));
  return (
    <View style={{ padding: 24, gap: 12, marginTop: 64 }}>
      <TextInput placeholder="Email" autoCapitalize="none" keyboardType="email-address" value={email} onChangeText={setEmail} />
      <TextInput placeholder="Password" secureTextEntry value={password} onChangeText={setPassword} />
      <Button title="Log in" onPress={() => login({ email, password }).catch(show)} />
      <Button title="Create an account" onPress={() => signup({ first: "Ada", last: "Lovelace", email, password }).catch(show)} />
      {message ? <Text>{message}</Text> : null}
    </View>
  );
}

function Home() {
  const { user, logout, client } = useAuth();
  const [code, setCode] = useState("");
  const [message, setMessage] = useState("");
  // Signed in, the client sends its access token with the code: the password stays.
  const verify = async () => {
    if (!user?.email) return; // every field of the server's user is optional in its document
    try {
      const { passwordRemoved } = await client.verifyEmail({ email: user.email, code });
      setMessage(passwordRemoved ? "Address confirmed. Choose a password with Forgot password." : "Address confirmed.");
    } catch (error) {
      setMessage(messageOf(error));
    }
  };
  return (
    <View style={{ padding: 24, gap: 12, marginTop: 64 }}>
      <Text>
        Signed in as {user?.first} ({user?.email})
      </Text>
      {user && !user.emailVerified ? (
        <>
          <TextInput placeholder="The code we emailed you" keyboardType="number-pad" value={code} onChangeText={setCode} />
          <Button title="Confirm my address" onPress={verify} />
        </>
      ) : null}
      {message ? <Text>{message}</Text> : null}
      <Button title="Log out" onPress={() => logout()} />
    </View>
  );
}
