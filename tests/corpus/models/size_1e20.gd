size h = 1e20
param w[h]
data x, Y
model y = sum(w)*x
loss mean((y - Y)^2)
