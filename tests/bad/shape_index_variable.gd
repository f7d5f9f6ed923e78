data x[3], Y
param w[3]
model y = w[j] * x[j]
loss mean((y - Y)^2)
