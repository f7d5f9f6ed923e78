# A neural network with one hidden layer of 32 tanh units, fitted to the diabetes data
# (x1..x10 and Y in diabetes.csv): unit j computes tanh(W[j,0]*x[0] + ... + c[j]), and
# the output weighs the units with v and adds a. W and v start at small random values
# (no initial value given), so that the units can learn different things.
size h = 32
data x[d], Y
param W[h, d], c[h] = 0, v[h], a = 150
model y = dot(v, tanh(W @ x + c)) + a
loss mean((y - Y)^2)
